//! `pg_backup`, `pg_restore` and drills end to end, through the binary, against the test
//! PostgreSQL (`ONDECK_TEST_PG_URL`, started by scripts/test-all.sh). Each test works in
//! databases of its own, with unique names, dropped at its end.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::pty::Screen;
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection, Row};

mod common;

const NEEDS_SERVICES: &str = "needs services: scripts/test-all.sh";
/// The password the tests put in the URL: it must never appear in what ondeck writes. The
/// test server trusts loopback, so it is not checked there.
const PASSWORD: &str = "pw-kept-out-of-files";
/// The test S3 server accepts any key; the secret must appear nowhere ondeck writes either.
const S3_KEY_ID: &str = "ondeck-test";
const S3_SECRET: &str = "s3-secret-kept-out-of-files";

fn admin_url() -> String {
    std::env::var("ONDECK_TEST_PG_URL").unwrap_or_else(|_| {
        panic!("ONDECK_TEST_PG_URL is not set; {NEEDS_SERVICES} starts PostgreSQL and sets it")
    })
}

/// `admin_url` for another database, with [`PASSWORD`] in it.
fn url_of(database: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).unwrap();
    url.set_path(database);
    url.set_password(Some(PASSWORD)).unwrap();
    url.to_string()
}

async fn admin() -> PgConnection {
    PgConnection::connect(&admin_url()).await.unwrap()
}

async fn connect(database: &str) -> PgConnection {
    PgConnection::connect(&url_of(database)).await.unwrap()
}

/// A scratch directory, the databases of one test, and a configuration naming them.
struct Lab {
    dir: tempfile::TempDir,
    databases: Vec<String>,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().unwrap(),
            databases: Vec::new(),
        }
    }

    /// A new database with a table `items` of `rows` rows.
    async fn database(&mut self, rows: i64) -> String {
        let name = format!(
            "ondeck_bk_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        admin()
            .await
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        self.databases.push(name.clone());
        let mut db = connect(&name).await;
        db.execute("CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL)")
            .await
            .unwrap();
        sqlx::query("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, $1) g")
            .bind(rows)
            .execute(&mut db)
            .await
            .unwrap();
        name
    }

    fn backups(&self) -> PathBuf {
        self.dir.path().join("backups")
    }

    /// Writes the configuration: the store, then `actions` (TOML).
    fn config(&self, actions: &str) -> PathBuf {
        let path = self.dir.path().join("config.toml");
        let store = self.dir.path().join("ondeck.db");
        std::fs::write(
            &path,
            format!("[store]\nurl = \"sqlite://{}\"\n{actions}", store.display()),
        )
        .unwrap();
        path
    }

    /// `ondeck --config … ARGS`, the database URL in `BACKUP_DB_URL` (and `RESTORE_DB_URL`).
    fn ondeck(&self, args: &[&str], urls: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ondeck"));
        command
            .arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .args(args)
            .env("XDG_DATA_HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path())
            .env("S3_KEY_ID", S3_KEY_ID)
            .env("S3_SECRET", S3_SECRET);
        for (name, database) in urls {
            command.env(name, url_of(database));
        }
        command.output().unwrap()
    }

    async fn drop_all(self) {
        let mut admin = admin().await;
        let leftovers: Vec<String> = sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'ondeck\\_bk\\_%'",
        )
        .fetch_all(&mut admin)
        .await
        .unwrap();
        for name in leftovers
            .into_iter()
            .filter(|n| self.databases.iter().any(|d| n.starts_with(d.as_str())))
        {
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await
                .unwrap();
        }
    }
}

fn backup_action(lab: &Lab, extra: &str) -> String {
    format!(
        "[[action]]\nname = \"backup\"\nkind = \"pg_backup\"\ndatabase = \"env:BACKUP_DB_URL\"\n\
         dir = \"{}\"\n{extra}\n",
        lab.backups().display()
    )
}

fn restore_action(lab: &Lab, name: &str, extra: &str) -> String {
    format!(
        "[[action]]\nname = \"{name}\"\nkind = \"pg_restore\"\ndatabase = \"env:RESTORE_DB_URL\"\n\
         dir = \"{}\"\n{extra}\n",
        lab.backups().display()
    )
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The manifests in `dir`, newest last.
fn manifests(dir: &Path) -> Vec<Value> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// A checksum of every row of `items`, to show a database was not touched.
async fn checksum(database: &str) -> String {
    let row = connect(database)
        .await
        .fetch_one("SELECT md5(string_agg(i::text, ',' ORDER BY id)) FROM items i")
        .await
        .unwrap();
    row.get::<String, _>(0)
}

async fn count(database: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&mut connect(database).await)
        .await
        .unwrap()
}

/// The audit log, as `ondeck audit --json` prints it.
fn audit(lab: &Lab) -> Vec<Value> {
    let output = lab.ondeck(&["audit", "--json"], &[]);
    assert!(output.status.success(), "{}", text(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn outcome_detail(lab: &Lab, action: &str) -> (String, Value, Option<String>) {
    let record = audit(lab)
        .into_iter()
        .rev()
        .find(|r| r["action"] == action && r["outcome"] != "REQUESTED")
        .unwrap();
    let detail = record["detail"].as_str().unwrap_or("null");
    (
        record["outcome"].as_str().unwrap().to_owned(),
        serde_json::from_str(if detail.is_empty() { "null" } else { detail }).unwrap(),
        record["error"].as_str().map(str::to_owned),
    )
}

fn sha256sum(path: &Path) -> String {
    let output = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(output.stdout).unwrap()[..64].to_owned()
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_backup_is_private_its_manifest_matches_sha256sum_and_keeps_no_password() {
    let mut lab = Lab::new();
    let db = lab.database(500).await;
    lab.config(&backup_action(&lab, "sentinel = true"));
    let output = lab.ondeck(
        &["run", "backup", "--target", &db, "--yes"],
        &[("BACKUP_DB_URL", &db)],
    );
    assert!(output.status.success(), "{}", text(&output));

    let manifest = &manifests(&lab.backups())[0];
    let dump = lab.backups().join(manifest["file"].as_str().unwrap());
    assert_eq!(manifest["sha256"].as_str().unwrap(), sha256sum(&dump));
    assert_eq!(manifest["size"], std::fs::metadata(&dump).unwrap().len());
    assert_eq!(manifest["tables"]["public.items"], 500);
    assert_eq!(manifest["tables"]["public.ondeck_backup_sentinel"], 1);
    assert_eq!(manifest["source"]["database"], db.as_str());
    assert!(
        manifest["time"].as_str().unwrap().ends_with('Z'),
        "UTC: {manifest}"
    );
    assert_eq!(manifest["tool"]["name"], "pg_dump");
    let url = manifest["source"]["url"].as_str().unwrap();
    assert!(url.contains(":***@"), "masked: {url}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&lab.backups()), 0o700);
    assert_eq!(mode(&dump), 0o600);
    // The sentinel is in the database, as the manifest says.
    let id: String = sqlx::query_scalar("SELECT id FROM ondeck_backup_sentinel")
        .fetch_one(&mut connect(&db).await)
        .await
        .unwrap();
    assert_eq!(manifest["sentinel"]["id"], id.as_str());

    // The password is nowhere ondeck wrote: dumps, manifests, the store, the output.
    for entry in std::fs::read_dir(lab.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let files: Vec<PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect()
        } else {
            vec![path]
        };
        for file in files.into_iter().filter(|f| f.is_file()) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes
                    .windows(PASSWORD.len())
                    .any(|w| w == PASSWORD.as_bytes()),
                "{} holds the password",
                file.display()
            );
        }
    }
    assert!(!text(&output).contains(PASSWORD));

    let listed = lab.ondeck(
        &["backups", "backup", "--verify"],
        &[("BACKUP_DB_URL", &db)],
    );
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(
        text(&listed).contains("1 backups, all good"),
        "{}",
        text(&listed)
    );
    lab.drop_all().await;
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_drill_restores_a_scratch_copy_checks_it_drops_it_and_never_touches_the_source() {
    let mut lab = Lab::new();
    let db = lab.database(2_000).await;
    lab.config(&format!(
        "{}{}",
        backup_action(&lab, "sentinel = true"),
        restore_action(&lab, "drill", "drill = true")
    ));
    let urls = [
        ("BACKUP_DB_URL", db.as_str()),
        ("RESTORE_DB_URL", db.as_str()),
    ];
    let output = lab.ondeck(&["run", "backup", "--target", &db, "--yes"], &urls);
    assert!(output.status.success(), "{}", text(&output));
    let before = checksum(&db).await;

    let output = lab.ondeck(&["run", "drill", "--target", &db, "--yes"], &urls);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("drill passed"), "{}", text(&output));
    assert!(
        text(&output).contains("sentinel found"),
        "{}",
        text(&output)
    );
    let (state, detail, _) = outcome_detail(&lab, "drill");
    assert_eq!(state, "SUCCEEDED");
    assert_eq!(detail["result"], "passed", "{detail}");
    assert_eq!(detail["sentinel"], "found");
    assert!(detail["rto_ms"].as_u64().is_some(), "{detail}");
    let scratch = detail["scratch"].as_str().unwrap();
    assert!(scratch.starts_with(&format!("{db}_drill_")), "{scratch}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(scratch)
        .fetch_one(&mut admin().await)
        .await
        .unwrap();
    assert_eq!(left, 0, "the scratch database is dropped");
    assert_eq!(checksum(&db).await, before, "the source is untouched");
    lab.drop_all().await;
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_restore_into_a_second_database_brings_the_same_rows() {
    let mut lab = Lab::new();
    let source = lab.database(1_234).await;
    let second = lab.database(7).await;
    lab.config(&format!(
        "{}{}",
        backup_action(&lab, ""),
        restore_action(
            &lab,
            "restore",
            &format!("backup_of = \"{source}\"\nstop = [\"true\"]\nstart = [\"true\"]")
        )
    ));
    let output = lab.ondeck(
        &["run", "backup", "--target", &source, "--yes"],
        &[("BACKUP_DB_URL", &source)],
    );
    assert!(output.status.success(), "{}", text(&output));
    let output = lab.ondeck(
        &["run", "restore", "--target", &second, "--yes"],
        &[("RESTORE_DB_URL", &second)],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("stop hook: true"),
        "{}",
        text(&output)
    );
    assert_eq!(count(&second).await, 1_234);
    assert_eq!(checksum(&second).await, checksum(&source).await);
    lab.drop_all().await;
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn retention_keeps_the_newest_and_never_removes_a_backup_that_does_not_verify() {
    let mut lab = Lab::new();
    let db = lab.database(10).await;
    lab.config(&backup_action(&lab, "retention = { keep = 2 }"));
    let urls = [("BACKUP_DB_URL", db.as_str())];
    let mut files = Vec::new();
    for _ in 0..4 {
        let output = lab.ondeck(&["run", "backup", "--target", &db, "--yes"], &urls);
        assert!(output.status.success(), "{}", text(&output));
        let (_, detail, _) = outcome_detail(&lab, "backup");
        files.push(detail["file"].as_str().unwrap().to_owned());
        // Dumps are named to the second.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    let kept: Vec<String> = manifests(&lab.backups())
        .iter()
        .map(|m| m["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kept, files[2..], "the newest two");
    let removals: Vec<Value> = audit(&lab)
        .into_iter()
        .filter(|r| r["action"] == "delete-backup")
        .collect();
    assert_eq!(removals.len(), 2, "each removal audited: {removals:?}");

    // The newest is cut short: it no longer verifies, is kept and reported; the next backup
    // is the newest good one, and the one before stays as the second.
    let cut = lab.backups().join(&files[3]);
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let output = lab.ondeck(&["run", "backup", "--target", &db, "--yes"], &urls);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("which does not verify"),
        "{}",
        text(&output)
    );
    assert!(cut.exists());
    let listed = lab.ondeck(&["backups", "backup"], &urls);
    assert_eq!(listed.status.code(), Some(1), "{}", text(&listed));
    assert!(
        text(&listed).contains("3 backups, 1 bad"),
        "{}",
        text(&listed)
    );
    lab.drop_all().await;
}

/// Each way a backup can be wrong is refused before the target is touched.
#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn corrupt_backups_are_refused_before_the_target_is_touched() {
    let mut lab = Lab::new();
    let db = lab.database(300).await;
    let other = lab.database(5).await;
    lab.config(&backup_action(&lab, ""));
    for database in [&db, &other] {
        let output = lab.ondeck(
            &["run", "backup", "--target", database, "--yes"],
            &[("BACKUP_DB_URL", database)],
        );
        assert!(output.status.success(), "{}", text(&output));
    }
    let all = manifests(&lab.backups());
    let good = all
        .iter()
        .find(|m| m["source"]["database"] == db.as_str())
        .unwrap()
        .clone();
    let others = all
        .iter()
        .find(|m| m["source"]["database"] == other.as_str())
        .unwrap();
    let good_bytes = std::fs::read(lab.backups().join(good["file"].as_str().unwrap())).unwrap();
    let other_bytes = std::fs::read(lab.backups().join(others["file"].as_str().unwrap())).unwrap();
    // The target changes after the backup, so a restore that went ahead would show.
    connect(&db)
        .await
        .execute("DELETE FROM items WHERE id > 100")
        .await
        .unwrap();
    let before = checksum(&db).await;

    type Corrupt = fn(&mut Vec<u8>, &mut Value, &[u8]);
    let cases: [(&str, Corrupt, &str); 6] = [
        ("flipped", |dump, _, _| dump[200] ^= 0x01, "sha256"),
        (
            "truncated",
            |dump, _, _| dump.truncate(dump.len() - 10),
            "bytes",
        ),
        (
            "wrong-sha",
            |_, m, _| m["sha256"] = "0".repeat(64).into(),
            "sha256",
        ),
        ("no-manifest", |_, m, _| *m = Value::Null, "no manifest"),
        (
            "other-db",
            |dump, _, other| *dump = other.to_vec(),
            "not of",
        ),
        (
            "not-a-dump",
            |dump, _, _| *dump = b"SELECT 1;\n".repeat(50),
            "--list",
        ),
    ];
    for (case, corrupt, expected) in cases {
        let file = format!("{db}-{case}.dump");
        let mut dump = good_bytes.clone();
        let mut manifest = good.clone();
        corrupt(&mut dump, &mut manifest, &other_bytes);
        std::fs::write(lab.backups().join(&file), &dump).unwrap();
        if !manifest.is_null() {
            manifest["file"] = file.clone().into();
            // Size and sha256 match the new bytes unless the case is about them.
            if !["flipped", "truncated", "wrong-sha"].contains(&case) {
                manifest["size"] = dump.len().into();
                manifest["sha256"] = sha256_hex(&dump).into();
            }
            std::fs::write(
                lab.backups().join(format!("{file}.manifest.json")),
                serde_json::to_vec(&manifest).unwrap(),
            )
            .unwrap();
        }
        lab.config(&format!(
            "{}{}",
            backup_action(&lab, ""),
            restore_action(
                &lab,
                "restore",
                &format!("backup = \"{file}\"\nstop = [\"false\"]")
            )
        ));
        let output = lab.ondeck(
            &["run", "restore", "--target", &db, "--yes"],
            &[("RESTORE_DB_URL", &db)],
        );
        assert_eq!(output.status.code(), Some(1), "{case}: {}", text(&output));
        let (state, _, error) = outcome_detail(&lab, "restore");
        assert_eq!(state, "FAILED", "{case}");
        let error = error.unwrap();
        assert!(error.starts_with("refused before"), "{case}: {error}");
        assert!(error.contains(expected), "{case}: {error}");
        assert!(
            !text(&output).contains("stop hook"),
            "{case}: the stop hook never ran"
        );
        assert_eq!(
            checksum(&db).await,
            before,
            "{case}: the target is untouched"
        );
    }
    lab.drop_all().await;
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A wrapper of a PostgreSQL tool that, for a dump or a restore (not `--version`, not
/// `--list`), writes its pid and stalls — before the tool runs or after — so that the job can be
/// killed while it runs.
fn slow_tool(dir: &Path, tool: &str, before: bool) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .unwrap();
    let real = String::from_utf8(found.stdout).unwrap().trim().to_owned();
    let run = if before {
        format!("sleep 60\nexec {real} \"$@\"")
    } else {
        format!("{real} \"$@\"\nsleep 60")
    };
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in *--version*|*--list*) exec {real} \"$@\";; esac\n\
         echo $$ > {}/{tool}.pid\n{run}\n",
        bin.display()
    );
    let path = bin.join(tool);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Waits for `path` to exist, and returns its content.
fn wait_for(path: &Path) -> String {
    for _ in 0..300 {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} never appeared", path.display());
}

fn kill_group_of(pid_file: &Path) {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The wrapper's group is the job's: ondeck, killed with -9, could not end it.
    unsafe {
        libc::killpg(libc::getpgid(pid), libc::SIGKILL);
    }
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_backup_killed_mid_dump_is_interrupted_unlisted_and_its_temporary_file_removed() {
    let mut lab = Lab::new();
    let db = lab.database(100).await;
    let bin = slow_tool(lab.dir.path(), "pg_dump", false);
    lab.config(&backup_action(
        &lab,
        &format!("bin_dir = \"{}\"", bin.display()),
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .arg("--config")
        .arg(lab.dir.path().join("config.toml"))
        .args(["run", "backup", "--target", &db, "--yes"])
        .env("BACKUP_DB_URL", url_of(&db))
        .env("XDG_DATA_HOME", lab.dir.path())
        .env("XDG_STATE_HOME", lab.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&bin.join("pg_dump.pid"));
    // pg_dump has written the dump into the temporary file and waits.
    let partial = || {
        std::fs::read_dir(lab.backups())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect::<Vec<_>>()
    };
    for _ in 0..100 {
        if !partial().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(partial().len(), 1);
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    kill_group_of(&bin.join("pg_dump.pid"));

    // Nothing is listed as a backup, and the next ondeck cleans up after the dead one.
    let listed = lab.ondeck(&["backups", "backup"], &[("BACKUP_DB_URL", &db)]);
    assert!(text(&listed).contains("no backups"), "{}", text(&listed));
    let output = lab.ondeck(
        &["run", "backup", "--target", &db, "--dry-run"],
        &[("BACKUP_DB_URL", &db)],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("of a backup that was interrupted"),
        "{}",
        text(&output)
    );
    assert!(partial().is_empty(), "{:?}", partial());
    let interrupted = audit(&lab)
        .iter()
        .any(|r| r["action"] == "backup" && r["outcome"] == "INTERRUPTED");
    assert!(interrupted, "the killed job is recorded INTERRUPTED");
    lab.drop_all().await;
}

/// The scratch databases of drills of `db` on the server.
async fn scratch_databases(db: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)",
    )
    .bind(format!("{db}_drill_"))
    .fetch_all(&mut admin().await)
    .await
    .unwrap()
}

/// A backup of a new database, then a drill of it killed (`kill -9`, with its pg_restore)
/// while it restores: its scratch database is left behind. Returns the database.
async fn kill_a_drill(lab: &mut Lab) -> String {
    let db = lab.database(50).await;
    lab.config(&backup_action(lab, ""));
    let urls = [
        ("BACKUP_DB_URL", db.as_str()),
        ("RESTORE_DB_URL", db.as_str()),
    ];
    let output = lab.ondeck(&["run", "backup", "--target", &db, "--yes"], &urls);
    assert!(output.status.success(), "{}", text(&output));
    let bin = slow_tool(lab.dir.path(), "pg_restore", true);
    lab.config(&format!(
        "{}{}",
        backup_action(lab, ""),
        restore_action(
            lab,
            "drill",
            &format!("drill = true\nbin_dir = \"{}\"", bin.display())
        )
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .arg("--config")
        .arg(lab.dir.path().join("config.toml"))
        .args(["run", "drill", "--target", &db, "--yes"])
        .env("RESTORE_DB_URL", url_of(&db))
        .env("XDG_DATA_HOME", lab.dir.path())
        .env("XDG_STATE_HOME", lab.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The restore into the scratch database has started, and stalls.
    wait_for(&bin.join("pg_restore.pid"));
    assert_eq!(scratch_databases(&db).await.len(), 1);
    child.kill().unwrap();
    child.wait().unwrap();
    kill_group_of(&bin.join("pg_restore.pid"));
    assert_eq!(
        scratch_databases(&db).await.len(),
        1,
        "left behind by the killed drill"
    );
    db
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_drill_killed_mid_restore_leaves_a_scratch_database_the_next_start_drops() {
    let mut lab = Lab::new();
    let db = kill_a_drill(&mut lab).await;
    let urls = [
        ("BACKUP_DB_URL", db.as_str()),
        ("RESTORE_DB_URL", db.as_str()),
    ];

    // The next ondeck to start marks the job INTERRUPTED and drops the scratch database.
    let output = lab.ondeck(&["run", "drill", "--target", &db, "--dry-run"], &urls);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("left by a drill that was interrupted"),
        "{}",
        text(&output)
    );
    assert!(scratch_databases(&db).await.is_empty());
    let interrupted = audit(&lab)
        .iter()
        .any(|r| r["action"] == "drill" && r["outcome"] == "INTERRUPTED");
    assert!(interrupted, "the killed job is recorded INTERRUPTED");
    lab.drop_all().await;
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn the_console_drops_the_scratch_database_of_a_killed_drill_when_it_starts() {
    let mut lab = Lab::new();
    let db = kill_a_drill(&mut lab).await;
    let config = lab.dir.path().join("config.toml");
    let restore_url = url_of(&db);
    let mut screen = Screen::start(
        lab.dir.path(),
        &["--config", config.to_str().unwrap()],
        100,
        30,
        &[
            ("RESTORE_DB_URL", &restore_url),
            ("BACKUP_DB_URL", &restore_url),
        ],
    );
    let mut gone = false;
    for _ in 0..150 {
        if scratch_databases(&db).await.is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screen.type_keys("q");
    screen.wait_exit();
    assert!(
        gone,
        "the console dropped the scratch database at its start"
    );
    let interrupted = audit(&lab)
        .iter()
        .any(|r| r["action"] == "drill" && r["outcome"] == "INTERRUPTED");
    assert!(interrupted, "the killed job is recorded INTERRUPTED");
    lab.drop_all().await;
}

fn s3_url() -> String {
    std::env::var("ONDECK_TEST_S3_URL").unwrap_or_else(|_| {
        panic!("ONDECK_TEST_S3_URL is not set; {NEEDS_SERVICES} starts an S3 server and sets it")
    })
}

/// A new, empty bucket in the test S3 server, and the keys of an action that copies to it.
async fn bucket() -> (String, String) {
    let name = format!(
        "ondeck-bk-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let created = reqwest::Client::new()
        .put(format!("{}/{name}", s3_url()))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{created:?}");
    let keys = format!(
        "copy_to = \"s3://{name}/nightly\"\n\
         s3 = {{ endpoint = \"{}\", access_key_id = \"env:S3_KEY_ID\", secret_access_key = \"env:S3_SECRET\" }}",
        s3_url()
    );
    (name, keys)
}

fn s3_store(bucket: &str) -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_endpoint(s3_url())
        .with_allow_http(true)
        .with_access_key_id(S3_KEY_ID)
        .with_secret_access_key(S3_SECRET)
        .build()
        .unwrap()
}

/// The objects in a bucket, by key, with their bytes.
async fn objects(bucket: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    use futures_util::TryStreamExt;
    use object_store::ObjectStore;
    let store = s3_store(bucket);
    let listed: Vec<object_store::ObjectMeta> = store.list(None).try_collect().await.unwrap();
    let mut objects = std::collections::BTreeMap::new();
    for object in listed {
        let bytes = store
            .get(&object.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        objects.insert(object.location.to_string(), bytes.to_vec());
    }
    objects
}

/// A table of random text that compresses badly: a dump of over 16 MiB, sent in parts.
async fn add_incompressible_rows(database: &str, rows: i64) {
    let mut db = connect(database).await;
    db.execute("CREATE TABLE noise (id bigint PRIMARY KEY, hash text NOT NULL)")
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO noise SELECT g, md5(random()::text) || md5(random()::text) \
         FROM generate_series(1, $1) g",
    )
    .bind(rows)
    .execute(&mut db)
    .await
    .unwrap();
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_backup_with_copy_to_is_in_the_s3_server_with_its_manifest_and_the_same_sha256() {
    let mut lab = Lab::new();
    let db = lab.database(100).await;
    add_incompressible_rows(&db, 600_000).await;
    let (bucket, keys) = bucket().await;
    lab.config(&backup_action(&lab, &keys));
    let urls = [("BACKUP_DB_URL", db.as_str())];
    let output = lab.ondeck(&["run", "backup", "--target", &db, "--yes"], &urls);
    assert!(output.status.success(), "{}", text(&output));

    let manifest = &manifests(&lab.backups())[0];
    let file = manifest["file"].as_str().unwrap();
    let local = lab.backups().join(file);
    assert!(
        manifest["size"].as_u64().unwrap() > 16 << 20,
        "large enough to go in parts: {manifest}"
    );
    let remote = objects(&bucket).await;
    let keys: Vec<&String> = remote.keys().collect();
    assert_eq!(
        keys,
        [
            &format!("nightly/{file}"),
            &format!("nightly/{file}.manifest.json")
        ],
        "the dump and its manifest, nothing else"
    );
    let dump = &remote[&format!("nightly/{file}")];
    assert_eq!(sha256_hex(dump), manifest["sha256"].as_str().unwrap());
    assert_eq!(sha256_hex(dump), sha256sum(&local));
    let remote_manifest: Value =
        serde_json::from_slice(&remote[&format!("nightly/{file}.manifest.json")]).unwrap();
    assert_eq!(&remote_manifest, manifest);

    let listed = lab.ondeck(&["backups", "backup", "--verify"], &urls);
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(
        text(&listed).contains(&format!("s3://{bucket}/nightly/{file}")),
        "{}",
        text(&listed)
    );
    assert!(
        text(&listed).contains("2 backups, all good"),
        "the local one and its copy: {}",
        text(&listed)
    );
    // A copy that differs from its manifest is bad, and `--verify` finds it.
    use object_store::ObjectStore;
    let mut flipped = dump.clone();
    flipped[1000] ^= 0xff;
    s3_store(&bucket)
        .put(
            &object_store::path::Path::from(format!("nightly/{file}")),
            flipped.into(),
        )
        .await
        .unwrap();
    let listed = lab.ondeck(&["backups", "backup", "--verify"], &urls);
    assert_eq!(listed.status.code(), Some(1), "{}", text(&listed));
    assert!(
        text(&listed).contains("2 backups, 1 bad"),
        "{}",
        text(&listed)
    );

    // The secret key is nowhere: not in the output, the audit log or the store.
    assert!(!text(&output).contains(S3_SECRET));
    let store = std::fs::read(lab.dir.path().join("ondeck.db")).unwrap();
    assert!(
        !store
            .windows(S3_SECRET.len())
            .any(|w| w == S3_SECRET.as_bytes())
    );
    assert!(
        !serde_json::to_string(&audit(&lab))
            .unwrap()
            .contains(S3_SECRET)
    );
    lab.drop_all().await;
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_drill_with_the_local_copy_gone_pulls_the_backup_from_s3_and_refuses_a_bad_one() {
    let mut lab = Lab::new();
    let db = lab.database(1_500).await;
    let (bucket, keys) = bucket().await;
    lab.config(&format!(
        "{}{}",
        backup_action(&lab, &format!("sentinel = true\n{keys}")),
        restore_action(&lab, "drill", &format!("drill = true\n{keys}"))
    ));
    let urls = [
        ("BACKUP_DB_URL", db.as_str()),
        ("RESTORE_DB_URL", db.as_str()),
    ];
    let output = lab.ondeck(&["run", "backup", "--target", &db, "--yes"], &urls);
    assert!(output.status.success(), "{}", text(&output));
    let file = manifests(&lab.backups())[0]["file"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = checksum(&db).await;
    let remove_local = || {
        for entry in std::fs::read_dir(lab.backups()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    };
    remove_local();

    let output = lab.ondeck(&["run", "drill", "--target", &db, "--yes"], &urls);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("pulling it from s3://{bucket}/nightly/{file}")),
        "{}",
        text(&output)
    );
    assert!(text(&output).contains("drill passed"), "{}", text(&output));
    let (state, detail, _) = outcome_detail(&lab, "drill");
    assert_eq!(
        (state.as_str(), &detail["backup"]),
        ("SUCCEEDED", &Value::from(file.clone()))
    );
    assert_eq!(detail["sentinel"], "found");
    assert_eq!(checksum(&db).await, before, "the source is untouched");

    // A remote copy that differs from its manifest is never used.
    remove_local();
    use object_store::ObjectStore;
    let store = s3_store(&bucket);
    let location = object_store::path::Path::from(format!("nightly/{file}"));
    let mut dump = store
        .get(&location)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let middle = dump.len() / 2;
    dump[middle] ^= 0xff;
    store.put(&location, dump.into()).await.unwrap();
    let output = lab.ondeck(&["run", "drill", "--target", &db, "--yes"], &urls);
    assert!(!output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("not used")
            && text(&output).contains("refused before anything was touched"),
        "{}",
        text(&output)
    );
    assert!(
        manifests(&lab.backups()).is_empty(),
        "nothing of it is left here: {:?}",
        std::fs::read_dir(lab.backups())
            .unwrap()
            .collect::<Vec<_>>()
    );
    lab.drop_all().await;
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn retention_in_s3_keeps_the_newest_n_and_audits_each_removal() {
    let mut lab = Lab::new();
    let db = lab.database(10).await;
    let (bucket, keys) = bucket().await;
    lab.config(&backup_action(
        &lab,
        &format!("retention = {{ keep = 2 }}\n{keys}"),
    ));
    let urls = [("BACKUP_DB_URL", db.as_str())];
    let mut files = Vec::new();
    for _ in 0..3 {
        let output = lab.ondeck(&["run", "backup", "--target", &db, "--yes"], &urls);
        assert!(output.status.success(), "{}", text(&output));
        let (_, detail, _) = outcome_detail(&lab, "backup");
        files.push(detail["file"].as_str().unwrap().to_owned());
        // Dumps are named to the second.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    let remote: Vec<String> = objects(&bucket).await.into_keys().collect();
    let expected: Vec<String> = files[1..]
        .iter()
        .flat_map(|f| [format!("nightly/{f}"), format!("nightly/{f}.manifest.json")])
        .collect();
    assert_eq!(remote, expected, "the newest two, each with its manifest");
    let removals: Vec<Value> = audit(&lab)
        .into_iter()
        .filter(|r| r["action"] == "delete-backup")
        .map(|r| serde_json::from_str(r["detail"].as_str().unwrap()).unwrap())
        .collect();
    let remote_removals: Vec<&Value> = removals
        .iter()
        .filter(|d| d["remote"] == format!("s3://{bucket}/nightly").as_str())
        .collect();
    assert_eq!(remote_removals.len(), 1, "{removals:?}");
    assert_eq!(remote_removals[0]["file"], files[0].as_str());
    lab.drop_all().await;
}

/// Writes a backup of `database` taken `hours` ago into `dir`: a dump of a few bytes and its
/// manifest, as `pg_backup` would leave them.
fn fake_backup(dir: &Path, database: &str, hours: i64) {
    use ondeck::actions::backups::manifest::{self, Manifest};
    let time = chrono::Utc::now() - chrono::TimeDelta::hours(hours);
    let file = format!("{database}-{}.dump", time.format("%Y%m%dT%H%M%SZ"));
    let bytes = b"PGDMP not really".to_vec();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(&file), &bytes).unwrap();
    let manifest = Manifest {
        format: manifest::FORMAT,
        kind: "pg_backup".to_owned(),
        action: "backup".to_owned(),
        file: file.clone(),
        time,
        source: manifest::Source {
            database: database.to_owned(),
            url: format!("postgres://ondeck@127.0.0.1/{database}"),
            server_version: "16.4".to_owned(),
        },
        size: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
        tool: manifest::Tool {
            name: "pg_dump".to_owned(),
            version: "16.4".to_owned(),
        },
        duration_ms: 10,
        tables: Default::default(),
        sentinel: None,
        files: None,
    };
    std::fs::write(
        manifest::manifest_path(&dir.join(&file)),
        manifest.to_json(),
    )
    .unwrap();
}

#[test]
fn snapshot_shows_each_backup_action_with_its_ages_and_warns_when_the_newest_is_too_old() {
    let lab = Lab::new();
    let action = |name: &str, database: &str| {
        format!(
            "[[action]]\nname = \"{name}\"\nkind = \"pg_backup\"\n\
             database = \"postgres://ondeck@127.0.0.1/{database}\"\ndir = \"{}\"\n\
             max_backup_age = \"26h\"\n",
            lab.backups().display()
        )
    };
    fake_backup(&lab.backups(), "app", 2);
    lab.config(&action("backup-app", "app"));
    let snapshot = |lab: &Lab| {
        let output = lab.ondeck(&["snapshot", "--json"], &[]);
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        (output.status.code(), json)
    };
    let (code, json) = snapshot(&lab);
    let row = json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["source"] == "backups" && h["name"] == "backup-app")
        .unwrap_or_else(|| panic!("no row for the backup action: {json}"))
        .clone();
    assert_eq!(row["status"], "up", "{row}");
    assert_eq!(row["version"], "backup 2h · drill none configured", "{row}");
    assert_eq!(code, Some(0), "{json}");

    // A database whose newest backup is 30 hours old, over its 26: a warning, exit 1.
    fake_backup(&lab.backups(), "billing", 30);
    lab.config(&format!(
        "{}{}",
        action("backup-app", "app"),
        action("backup-billing", "billing")
    ));
    let (code, json) = snapshot(&lab);
    let alerts: Vec<&Value> = json["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["source"] == "backups")
        .collect();
    assert_eq!(alerts.len(), 1, "{json}");
    assert_eq!(alerts[0]["name"], "BackupTooOld");
    assert_eq!(alerts[0]["target"], "billing");
    assert_eq!(code, Some(1), "{json}");
}
