//! Key shares and TOTP codes are kept nowhere in a PostgreSQL store either: after an unseal
//! with the shares on a pipe and an action confirmed by a TOTP code, every row of every table
//! of ondeck's schema (audit, jobs, job log, TOTP use, sessions) is read as text and searched.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/bao.rs"]
mod bao;
#[path = "support/secrets.rs"]
mod secrets;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use bao::Bao;
use ondeck::identity::OperatorIdentity;
use secrets::{SECRET_BASE32, code, holds_as_word};
use sqlx::{Connection, Executor, PgConnection};

fn admin_url() -> String {
    std::env::var("ONDECK_TEST_PG_URL").unwrap_or_else(|_| {
        panic!("ONDECK_TEST_PG_URL is not set; scripts/test-all.sh starts PostgreSQL and sets it")
    })
}

/// A database of its own for the store.
async fn store_database() -> (String, String) {
    let name = format!(
        "ondeck_secrets_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url()).unwrap();
    url.set_path(&name);
    (name, url.to_string())
}

/// Every row of every table of ondeck's schema, as JSON text, a line each.
async fn every_row(url: &str) -> String {
    let mut db = PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'ondeck'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert!(
        tables.iter().any(|t| t == "audit") && tables.iter().any(|t| t == "job_log"),
        "{tables:?}"
    );
    let mut text = String::new();
    for table in tables {
        let rows: Option<String> = sqlx::query_scalar(&format!(
            "SELECT string_agg(row_to_json(t)::text, E'\\n') FROM ondeck.\"{table}\" t"
        ))
        .fetch_one(&mut db)
        .await
        .unwrap();
        text.push_str(&rows.unwrap_or_default());
        text.push('\n');
    }
    text
}

fn config(home: &Path, store: &str, bao: &Bao) -> std::path::PathBuf {
    let account = OperatorIdentity::current("alice").os_user;
    let path = home.join("config.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[store]
url = "{store}"

[[source]]
name = "bao"
kind = "openbao"
url = "{bao}"

[[action]]
name = "unseal-bao"
kind = "unseal"
source = "bao"

[[action]]
name = "rotate"
kind = "command"
argv = ["true"]
confirm = "totp"

[[operator]]
name = "{account}"
totp_secret = "env:ONDECK_TEST_TOTP"
"#,
            bao = bao.url
        ),
    )
    .unwrap();
    path
}

fn run(home: &Path, config: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .args(["--config", config.to_str().unwrap(), "run"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("RUST_LOG", "debug")
        .env("ONDECK_TEST_TOTP", SECRET_BASE32)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn shares_and_codes_are_nowhere_in_a_postgresql_store() {
    let bao = Bao::start().await;
    let home = tempfile::tempdir().unwrap();
    let (database, store) = store_database().await;
    let config = config(home.path(), &store, &bao);

    let shares = format!("{}\n{}\n{}\n", bao.keys[0], bao.keys[1], bao.keys[2]);
    run(
        home.path(),
        &config,
        &["unseal-bao", "--target", "bao", "--yes"],
        &shares,
    );
    assert_eq!(bao.status().await["sealed"], false);
    let code = code(0);
    run(
        home.path(),
        &config,
        &["rotate", "--target", "x", "--yes"],
        &format!("{code}\n"),
    );

    let rows = every_row(&store).await;
    // What was done is there: the shares by number, the confirmed action.
    assert!(rows.contains("share 3 of 3 submitted by"), "{rows}");
    assert!(rows.contains("\"rotate\""), "{rows}");
    for key in &bao.keys {
        assert!(!rows.contains(key.as_str()), "a key share is in the store");
    }
    assert!(
        !holds_as_word(&rows, &code),
        "the TOTP code is in the store"
    );

    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    admin
        .execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
}
