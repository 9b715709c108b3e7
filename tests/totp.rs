//! The `totp` confirmation through `ondeck run`, the code on standard input as a script gives
//! it: a right code runs the action; a replay in the same step, a code from two steps ago, a
//! wrong code, and a right code after five wrong ones are refused, audited as refused, and
//! nothing runs. The code is found nowhere afterwards.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/secrets.rs"]
mod secrets;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use ondeck::identity::OperatorIdentity;
use ondeck::store::{Store, TotpVerdict};
use secrets::{SECRET_BASE32, code, files_under, holds_as_word};

struct Lab {
    home: tempfile::TempDir,
    config: PathBuf,
    marker: PathBuf,
    /// The store as the test reads it, open throughout: a pool closed while ondeck writes
    /// would checkpoint the WAL under it.
    store: Store,
}

async fn lab() -> Lab {
    let home = tempfile::tempdir().unwrap();
    let marker = home.path().join("ran");
    let config = home.path().join("config.toml");
    let account = OperatorIdentity::current("alice").os_user;
    std::fs::write(
        &config,
        format!(
            r#"
[store]
url = "sqlite://{}"

[[action]]
name = "rotate"
kind = "command"
argv = ["touch", "{}"]
confirm = "totp"

[[operator]]
name = "{account}"
totp_secret = "env:ONDECK_TEST_TOTP"
"#,
            home.path().join("ondeck.db").display(),
            marker.display()
        ),
    )
    .unwrap();
    let store = Store::open(&format!(
        "sqlite://{}",
        home.path().join("ondeck.db").display()
    ))
    .await
    .unwrap();
    Lab {
        home,
        config,
        marker,
        store,
    }
}

impl Lab {
    /// `ondeck run rotate --target x --yes` with `code` on standard input.
    fn run(&self, code: &str) -> Output {
        let home = self.home.path();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ondeck"))
            .args(["--config", self.config.to_str().unwrap()])
            .args(["run", "rotate", "--target", "x", "--yes"])
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
        writeln!(child.stdin.take().unwrap(), "{code}").unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs with `code`, which must be refused with `why`, audited as refused, nothing run.
    async fn refused(&self, code: &str, why: &str) {
        let _ = std::fs::remove_file(&self.marker);
        let refusals_before = self.refusals().await.len();
        let out = self.run(code);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains(why), "{err}");
        assert!(!self.marker.exists(), "a refused action ran");
        let refusals = self.refusals().await;
        let logs: Vec<String> = files_under(&self.home.path().join("state"))
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .collect();
        assert_eq!(
            refusals.len(),
            refusals_before + 1,
            "{refusals:?}\n{err}\n{}",
            logs.join("\n")
        );
        assert!(refusals.last().unwrap().contains(why), "{refusals:?}");
    }

    /// The errors of the audit's REFUSED records, oldest first.
    async fn refusals(&self) -> Vec<String> {
        self.store
            .audit_tail(100)
            .await
            .unwrap()
            .into_iter()
            .filter(|row| row.outcome == "REFUSED")
            .map(|row| row.error.unwrap_or_default())
            .collect()
    }
}

#[tokio::test]
async fn a_right_code_runs_the_action_once_and_is_kept_nowhere() {
    let lab = lab().await;
    let code = code(0);
    let out = lab.run(&code);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(lab.marker.exists(), "the confirmed action did not run");
    assert!(!err.contains(&code) && !String::from_utf8_lossy(&out.stdout).contains(&code));

    lab.refused(&code, "that TOTP code was used already").await;

    for file in files_under(lab.home.path()) {
        if file == lab.config {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !holds_as_word(&text, &code),
            "{} holds the TOTP code",
            file.display()
        );
    }
}

#[tokio::test]
async fn a_code_from_two_steps_ago_is_refused() {
    let lab = lab().await;
    lab.refused(&code(-2), "wrong TOTP code").await;
}

#[tokio::test]
async fn a_wrong_code_is_refused() {
    let lab = lab().await;
    let right = code(0);
    // The same digits turned: not the code of this step or its neighbours.
    let wrong: String = right
        .chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 5) % 10))
        .collect();
    lab.refused(&wrong, "wrong TOTP code").await;
    lab.refused("not-a-code", "wrong TOTP code").await;
}

#[tokio::test]
async fn after_five_wrong_codes_a_right_one_is_refused_too() {
    let lab = lab().await;
    for _ in 0..5 {
        lab.refused("000000x", "wrong TOTP code").await;
    }
    lab.refused(&code(0), "too many wrong TOTP codes").await;
}

/// The store's side, on `url`: a step is taken once, by one of two consoles given it at the
/// same moment, and a fifth wrong code holds the operator back.
async fn the_store_takes_a_step_once(url: &str) {
    let store = Store::open(url).await.unwrap();
    let other_console = Store::open(url).await.unwrap();
    let now = 1_000_000;
    let (first, second) = tokio::join!(
        store.take_totp("alice", Some(100), now),
        other_console.take_totp("alice", Some(100), now),
    );
    let mut verdicts = [first.unwrap(), second.unwrap()];
    verdicts.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(verdicts, [TotpVerdict::Accepted, TotpVerdict::Replayed]);
    assert_eq!(
        store.take_totp("alice", Some(99), now).await.unwrap(),
        TotpVerdict::Replayed,
        "an older step"
    );
    assert_eq!(
        store.take_totp("bob", Some(100), now).await.unwrap(),
        TotpVerdict::Accepted,
        "each operator has steps of their own"
    );
    // Two replays so far; two more wrong codes are free, the fifth holds alice back.
    for _ in 0..3 {
        assert_eq!(
            store.take_totp("alice", None, now).await.unwrap(),
            TotpVerdict::Wrong
        );
    }
    assert_eq!(
        other_console
            .take_totp("alice", Some(101), now + 1)
            .await
            .unwrap(),
        TotpVerdict::Blocked(std::time::Duration::from_millis(29_999))
    );
    assert_eq!(
        store
            .take_totp("alice", Some(101), now + 30_000)
            .await
            .unwrap(),
        TotpVerdict::Accepted,
        "after the wait a right code is taken"
    );
}

#[tokio::test]
async fn sqlite_takes_a_step_once() {
    let dir = tempfile::tempdir().unwrap();
    the_store_takes_a_step_once(&format!(
        "sqlite://{}",
        dir.path().join("totp.db").display()
    ))
    .await;
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn postgresql_takes_a_step_once() {
    use sqlx::Executor;
    let admin = std::env::var("ONDECK_TEST_PG_URL").expect("ONDECK_TEST_PG_URL");
    let name = format!("ondeck_totp_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    pool.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    the_store_takes_a_step_once(url.as_str()).await;
    pool.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}
