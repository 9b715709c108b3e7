//! The guided OpenBao unseal against a real, sealed OpenBao (5 key shares, threshold 3) of the
//! test's own: `ondeck run unseal` with the shares on a pipe, a duplicate share, a wrong share
//! at the threshold, another keyholder's reset seen through the nonce, and no share anywhere
//! in the store, the job logs or the log file afterwards.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/bao.rs"]
mod bao;
#[path = "support/secrets.rs"]
mod secrets;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use bao::Bao;
use ondeck::actions::engine::Engine;
use ondeck::actions::unseal::{self, ATTEMPT_RESTARTED, DISCARDED, NOT_COUNTED, Verdict};
use ondeck::actions::{Subject, plan};
use ondeck::identity::OperatorIdentity;
use ondeck::secret_text::SecretText;
use ondeck::store::Store;
use secrets::files_holding;

const NEEDS_SERVICES: &str = "needs services: scripts/test-all.sh";

/// A home with a configuration naming the node `bao` and an `unseal` action on it.
fn config(home: &Path, bao: &Bao) -> PathBuf {
    let config = home.join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[store]
url = "sqlite://{}"

[[source]]
name = "bao"
kind = "openbao"
url = "{}"

[[action]]
name = "unseal-bao"
kind = "unseal"
source = "bao"
"#,
            home.join("ondeck.db").display(),
            bao.url
        ),
    )
    .unwrap();
    config
}

/// `ondeck run unseal-bao --target bao --yes` with `input` on standard input.
fn run_unseal(home: &Path, config: &Path, input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .args(["--config", config.to_str().unwrap()])
        .args(["run", "unseal-bao", "--target", "bao", "--yes"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", "alice")
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("RUST_LOG", "debug")
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
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn store(home: &Path) -> Store {
    Store::open(&format!("sqlite://{}", home.join("ondeck.db").display()))
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn shares_on_a_pipe_unseal_the_node_and_are_kept_nowhere() {
    let _ = NEEDS_SERVICES;
    let bao = Bao::start().await;
    let home = tempfile::tempdir().unwrap();
    let config = config(home.path(), &bao);
    let input = format!("{}\n{}\n{}\n", bao.keys[0], bao.keys[1], bao.keys[2]);

    let out = run_unseal(home.path(), &config, &input);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("bao: sealed, 0/3 shares (of 5)"), "{err}");
    let operator = OperatorIdentity::current("alice").os_user;
    assert!(
        err.contains(&format!(
            "\nshare 1 of 3 submitted by {operator} to bao (progress 1/3)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "share 3 of 3 submitted by {operator} to bao: unsealed"
        )),
        "{err}"
    );
    assert!(!err.contains(ATTEMPT_RESTARTED), "{err}");
    assert_eq!(bao.status().await["sealed"], false);

    // The audit has each share by number, and nothing of any share.
    let audit = store(home.path()).await.audit_tail(50).await.unwrap();
    let steps: Vec<&str> = audit
        .iter()
        .filter(|row| row.outcome == "REQUESTED")
        .map(|row| row.detail.as_str())
        .collect();
    assert_eq!(steps.len(), 3, "one intent per share: {steps:?}");
    assert!(
        steps[1].contains(&format!("share 2 of 3 submitted by {operator} to bao")),
        "{steps:?}"
    );
    assert_eq!(
        audit
            .iter()
            .filter(|row| row.outcome == "SUCCEEDED")
            .count(),
        3,
        "{audit:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let keys: Vec<&str> = bao.keys.iter().map(String::as_str).collect();
    for key in &keys {
        assert!(
            !err.contains(key) && !stdout.contains(key),
            "a share was printed"
        );
    }
    assert_eq!(files_holding(home.path(), &keys), Vec::<String>::new());
    assert!(
        home.path().join("ondeck.db").exists(),
        "the store was written where the test looks"
    );
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_duplicate_share_is_not_counted() {
    let bao = Bao::start().await;
    let home = tempfile::tempdir().unwrap();
    let config = config(home.path(), &bao);
    let input = format!("{}\n{}\n", bao.keys[0], bao.keys[0]);

    let out = run_unseal(home.path(), &config, &input);
    let err = stderr(&out);
    assert!(!out.status.success(), "the node is still sealed: {err}");
    assert!(
        err.contains(&format!("{NOT_COUNTED} (progress 1/3)")),
        "{err}"
    );
    assert!(err.contains("still sealed (progress 1/3)"), "{err}");
    let status = bao.status().await;
    assert_eq!(
        (status["sealed"].as_bool(), status["progress"].as_u64()),
        (Some(true), Some(1))
    );
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_wrong_share_at_the_threshold_discards_the_set() {
    let bao = Bao::start().await;
    let home = tempfile::tempdir().unwrap();
    let config = config(home.path(), &bao);
    // A share of the right form from another key: the set of three does not combine.
    let other = Bao::start().await;
    let input = format!("{}\n{}\n{}\n", bao.keys[0], bao.keys[1], other.keys[2]);

    let out = run_unseal(home.path(), &config, &input);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(DISCARDED), "{err}");
    let status = bao.status().await;
    assert_eq!(status["sealed"], true);
    assert_eq!(status["progress"], 0);
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn another_keyholders_reset_is_seen_through_the_nonce() {
    let bao = Bao::start().await;
    let home = tempfile::tempdir().unwrap();
    let config_path = config(home.path(), &bao);
    let config = ondeck::config::load(Some(&config_path)).unwrap();
    let action = config.action("unseal-bao").unwrap();
    let plan = plan(action, Subject::Named("bao")).unwrap();
    let engine = Engine {
        store: store(home.path()).await,
        identity: OperatorIdentity::current("alice"),
        sources: config.sources.clone().into(),
    };

    let first = unseal::submit(&engine, &plan, SecretText::new(&bao.keys[0]), None)
        .await
        .unwrap();
    assert_eq!(first.verdict, Verdict::Counted);
    let seen = first.status.clone().unwrap();
    assert_eq!(seen.progress, 1);
    assert!(!seen.nonce.is_empty());

    // Another keyholder, at another console, resets the attempt.
    let (status, _) = bao
        .put("/v1/sys/unseal", serde_json::json!({"reset": true}))
        .await;
    assert_eq!(status, 200);

    let second = unseal::submit(
        &engine,
        &plan,
        SecretText::new(&bao.keys[1]),
        Some(&seen.nonce),
    )
    .await
    .unwrap();
    assert!(second.restarted, "{second:?}");
    assert!(
        second.message().starts_with(ATTEMPT_RESTARTED),
        "{}",
        second.message()
    );
    assert_eq!(
        second.status.as_ref().unwrap().progress,
        1,
        "only this share is in the new attempt"
    );

    // A reset asked for by the operator goes through, audited.
    let after = unseal::reset(&engine, &plan).await.unwrap();
    assert_eq!(after.progress, 0);
    let audit = engine.store.audit_tail(20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|row| row.detail.contains("unseal attempt of bao reset by")),
        "{audit:?}"
    );
}
