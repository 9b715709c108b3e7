//! A drill and a restore through the real console in a pseudo-terminal, against the test
//! services' PostgreSQL: the drill picked from the `:` palette shows its progress and then its
//! result with the restore time (RTO) in the Jobs pane, and a restore whose target is mistyped
//! is refused, audited, and leaves the database as it was.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::pty::Screen;
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};

const NEEDS_SERVICES: &str = "scripts/test-all.sh";
const ROWS: i64 = 500;

fn admin_url() -> String {
    std::env::var("ONDECK_TEST_PG_URL").unwrap_or_else(|_| {
        panic!("ONDECK_TEST_PG_URL is not set; {NEEDS_SERVICES} starts PostgreSQL and sets it")
    })
}

fn url_of(database: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).unwrap();
    url.set_path(database);
    url.to_string()
}

/// The database's rows, in order, as one string: what "unchanged" is compared on.
async fn contents(database: &str) -> String {
    let mut db = PgConnection::connect(&url_of(database)).await.unwrap();
    sqlx::query_scalar("SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM items")
        .fetch_one(&mut db)
        .await
        .unwrap()
}

async fn scratch_databases(database: &str) -> Vec<String> {
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
        .bind(format!("{database}\\_drill\\_%"))
        .fetch_all(&mut admin)
        .await
        .unwrap()
}

/// A `pg_restore` that waits two seconds before a restore (not before `--list` or
/// `--version`), so that the running drill can be seen in the Jobs pane.
fn slow_pg_restore(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let found = Command::new("sh")
        .args(["-c", "command -v pg_restore"])
        .output()
        .unwrap();
    let real = String::from_utf8(found.stdout).unwrap().trim().to_owned();
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in *--version*|*--list*) exec {real} \"$@\";; esac\n\
         sleep 2\nexec {real} \"$@\"\n"
    );
    let path = bin.join("pg_restore");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn config(home: &Path, bin: &Path) -> PathBuf {
    let config = home.join("config.toml");
    let backups = home.join("backups");
    std::fs::write(
        &config,
        format!(
            r#"
[store]
url = "sqlite://{store}"

[[action]]
name = "backup"
kind = "pg_backup"
database = "env:APP_DB_URL"
dir = "{backups}"
sentinel = true

[[action]]
name = "drill"
kind = "pg_restore"
database = "env:APP_DB_URL"
dir = "{backups}"
drill = true
bin_dir = "{bin}"

[[action]]
name = "restore"
kind = "pg_restore"
database = "env:APP_DB_URL"
dir = "{backups}"
"#,
            store = home.join("ondeck.db").display(),
            backups = backups.display(),
            bin = bin.display(),
        ),
    )
    .unwrap();
    config
}

fn ondeck(home: &Path, config: &Path, url: &str, args: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("HOME", home)
        .env("USER", "alice")
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("APP_DB_URL", url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_drill_from_the_palette_shows_its_rto_and_a_mistyped_restore_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let database = format!(
        "ondeck_pty_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .unwrap();
    let mut db = PgConnection::connect(&url_of(&database)).await.unwrap();
    db.execute("CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL)")
        .await
        .unwrap();
    sqlx::query("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, $1) g")
        .bind(ROWS)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    let url = url_of(&database);
    let config = config(home, &slow_pg_restore(home));
    ondeck(
        home,
        &config,
        &url,
        &["run", "backup", "--target", &database, "--yes"],
    );
    // The sentinel the backup wrote is part of what must stay as it was.
    let before = contents(&database).await;

    let mut screen = Screen::start(
        home,
        &["--config", config.to_str().unwrap()],
        160,
        40,
        &[("APP_DB_URL", url.as_str())],
    );
    screen.wait_for("the store and the backup's job", |s| {
        s.contains("store sqlite") && s.contains("Jobs 1/1")
    });
    screen.type_keys(":run drill\r");
    screen.wait_for("the drill's dialog with its backup picked", |s| {
        s.contains("Run drill?")
            && s.contains("newest first")
            && s.contains(&format!("▶ {database}"))
    });
    // Cancel has the focus; tab moves it to Run.
    screen.type_keys("\t\r");
    screen.type_keys("3z");
    screen.wait_for("the drill running, with its progress", |s| {
        s.lines()
            .any(|line| line.contains("drill") && line.contains("RUNNING") && line.contains("20%"))
    });
    let screen_text = screen.wait_for("the drill's result and RTO in the Jobs pane", |s| {
        s.lines().any(|line| {
            line.contains("drill")
                && line.contains("SUCCEEDED")
                && line.contains("drill passed · RTO ")
        })
    });
    assert!(screen_text.contains("RESULT"), "{screen_text}");
    assert!(
        scratch_databases(&database).await.is_empty(),
        "the scratch database is dropped"
    );
    assert_eq!(
        contents(&database).await,
        before,
        "the drill touched its source"
    );

    screen.type_keys("z:run restore\r");
    screen.wait_for_text(&format!("Type {database} to run:"));
    screen.type_keys("ondeck_wrong\r");
    screen.wait_for_text("refused: typed \"ondeck_wrong\"");
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    assert_eq!(contents(&database).await, before, "a refused restore ran");

    let audit: Vec<Value> =
        serde_json::from_slice(&ondeck(home, &config, &url, &["audit", "--json"]).stdout).unwrap();
    let outcomes = |action: &str| -> Vec<String> {
        audit
            .iter()
            .filter(|r| r["action"] == action)
            .map(|r| r["outcome"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(outcomes("drill"), ["REQUESTED", "SUCCEEDED"], "{audit:?}");
    assert_eq!(outcomes("restore"), ["REFUSED"], "{audit:?}");
    let drill = audit
        .iter()
        .find(|r| r["action"] == "drill" && r["outcome"] == "SUCCEEDED")
        .unwrap();
    let detail: Value = serde_json::from_str(drill["detail"].as_str().unwrap()).unwrap();
    // The items, and the sentinel's table.
    assert!(detail["rows"].as_i64().unwrap() > ROWS, "{detail}");
    assert_eq!(detail["sentinel"], "found", "{detail}");
    assert!(detail["rto_ms"].as_u64().is_some(), "{detail}");

    admin
        .execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
}
