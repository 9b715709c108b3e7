//! The unseal dialog in the real console, in a pseudo-terminal, against a sealed OpenBao of
//! the test's own (5 key shares, threshold 3): a duplicate share is not counted, three shares
//! unseal the node, and no share ever reaches the screen, the store or the log files.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/bao.rs"]
mod bao;
mod common;
#[path = "support/secrets.rs"]
mod secrets;

use std::path::Path;

use bao::Bao;
use common::pty::Screen;
use secrets::files_holding;

fn config(home: &Path, bao: &Bao) -> std::path::PathBuf {
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
every = "2s"

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

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn three_shares_typed_in_the_dialog_unseal_the_node() {
    let bao = Bao::start().await;
    let home = tempfile::tempdir().unwrap();
    let config = config(home.path(), &bao);
    let mut screen = Screen::start(
        home.path(),
        &["--config", config.to_str().unwrap()],
        100,
        30,
        &[("RUST_LOG", "debug")],
    );
    screen.wait_for("the sealed node", |s| {
        s.contains("bao") && s.contains("store sqlite")
    });

    screen.type_keys("a");
    screen.wait_for_text("Actions — bao/bao");
    screen.type_keys("\r");
    screen.wait_for_text("sealed, 0/3 shares (of 5)");

    screen.type_keys(&format!("{}\r", bao.keys[0]));
    screen.wait_for_text("(progress 1/3)");
    screen.type_keys(&format!("{}\r", bao.keys[0]));
    screen.wait_for_text("share not counted (duplicate?) (progress 1/3)");

    // Another keyholder's share, from their own client: it shows in this dialog by itself.
    let (status, _) = bao
        .put("/v1/sys/unseal", serde_json::json!({"key": bao.keys[1]}))
        .await;
    assert_eq!(status, 200);
    screen.wait_for_text("sealed, 2/3 shares (of 5)");

    screen.type_keys(&format!("{}\r", bao.keys[2]));
    screen.wait_for_text("share 3 of 3 submitted by");
    screen.wait_for_text(": unsealed");
    assert_eq!(bao.status().await["sealed"], false);

    screen.type_keys("\x1b");
    screen.wait_for("the dialog closed", |s| !s.contains("Unseal bao"));
    screen.type_keys("q");
    screen.wait_exit();

    let raw = String::from_utf8_lossy(&screen.raw_output()).into_owned();
    let keys: Vec<&str> = bao.keys.iter().map(String::as_str).collect();
    assert_eq!(
        files_holding(home.path(), &keys),
        Vec::<String>::new(),
        "a share was written to a file"
    );
    for key in &bao.keys {
        assert!(!raw.contains(key.as_str()), "a share reached the screen");
    }
}
