//! Two-person actions through the real binary, on one shared PostgreSQL store: a console
//! requests, a console of another OS account sees the request within a store refresh and
//! approves it, and the requester's console runs it; a console of the requester's own account
//! on the same machine is refused, and the refusal is audited; `ondeck run --wait` waits
//! headless for a decision and exits 1 when it is denied.
//!
//! The second OS account is real: the test runs the approver's console through `runuser` as
//! `nobody`, which only root can. Identity is read from the kernel, never from anything a test
//! (or an operator) could set, so without root the test says why and does nothing.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::path::Path;
use std::time::Duration;

use common::pty::Screen;
use sqlx::Executor;

/// The account the approver's console runs as.
const OTHER_ACCOUNT: &str = "nobody";

const RIGHT: &str = "\x1b[C";
const HOME: &str = "\x1b[H";

fn status_bar(screen: &str) -> &str {
    screen.lines().last().unwrap_or_default()
}

fn config(home: &Path, store_url: &str, marker: &Path) -> String {
    let path = home.join("ondeck.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\nurl = \"{store_url}\"\n\n\
             [[action]]\nname = \"touch-marker\"\nkind = \"command\"\n\
             description = \"Leave a marker\"\nargv = [\"touch\", \"{}\"]\n\
             confirm = \"two-person\"\napproval_expires = \"5m\"\n\n\
             [[action]]\nname = \"deny-me\"\nkind = \"command\"\n\
             argv = [\"true\"]\nconfirm = \"two-person\"\n",
            marker.display()
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

/// The uid and gid of `account`, if it exists.
fn account_ids(account: &str) -> Option<(u32, u32)> {
    let user = nix::unistd::User::from_name(account).ok()??;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

/// Gives `dir` and everything in it to `uid`:`gid`.
fn give(dir: &Path, (uid, gid): (u32, u32)) {
    std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            give(&path, (uid, gid));
        } else {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        }
    }
}

/// Where the approver's console can run, or why the test cannot: root, an account to switch
/// to, and `runuser`.
fn second_account() -> Option<((u32, u32), &'static Path)> {
    if !nix::unistd::getuid().is_root() {
        eprintln!(
            "skipped: the approver's console must run as another OS account ({OTHER_ACCOUNT}), \
             which only root can start; run this test as root"
        );
        return None;
    }
    let Some(other) = account_ids(OTHER_ACCOUNT) else {
        eprintln!("skipped: there is no {OTHER_ACCOUNT} account to approve as");
        return None;
    };
    let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        .into_iter()
        .map(Path::new)
        .find(|path| path.exists());
    let Some(runuser) = runuser else {
        eprintln!("skipped: runuser is not installed");
        return None;
    };
    Some((other, runuser))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs services: scripts/test-all.sh"]
async fn on_postgres_another_account_approves_the_requester_cannot_and_a_denial_ends_the_wait() {
    let Some(second) = second_account() else {
        return;
    };
    let admin_url = std::env::var("ONDECK_TEST_PG_URL").expect("ONDECK_TEST_PG_URL");
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let database = format!("ondeck_two_person_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .unwrap();
    let mut store_url = url::Url::parse(&admin_url).unwrap();
    store_url.set_path(&database);
    two_accounts_on_one_store(store_url.as_str(), second).await;
    admin
        .execute(format!("DROP DATABASE {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
}

/// One machine, one SQLite store in a directory prepared for the team (setgid, the group's,
/// nothing for others), two OS accounts of that group.
#[tokio::test(flavor = "multi_thread")]
async fn on_sqlite_another_account_approves_the_requester_cannot_and_a_denial_ends_the_wait() {
    use std::os::unix::fs::PermissionsExt;

    let Some(second) = second_account() else {
        return;
    };
    let (_, group) = second.0;
    let parent = tempfile::tempdir().unwrap();
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let team = parent.path().join("team");
    std::fs::create_dir(&team).unwrap();
    std::os::unix::fs::chown(&team, None, Some(group)).unwrap();
    std::fs::set_permissions(&team, std::fs::Permissions::from_mode(0o2770)).unwrap();
    let store_url = format!("sqlite://{}/ondeck.db", team.display());
    two_accounts_on_one_store(&store_url, second).await;
    let mode = std::fs::metadata(team.join("ondeck.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660, "the team's, and nobody else's");
}

/// Two consoles of the test's account (the requester, and another of the same account) and
/// one of [`OTHER_ACCOUNT`] (the approver) on the store at `store_url`.
async fn two_accounts_on_one_store(store_url: &str, (other, runuser): ((u32, u32), &Path)) {
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("approved-and-run");
    let (home_a, home_b, home_c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let config_a = config(home_a.path(), store_url, &marker);
    let config_b = config(home_b.path(), store_url, &marker);
    let config_c = config(home_c.path(), store_url, &marker);
    give(home_b.path(), other);

    // The requester, and a second console of the same account on the same machine.
    let mut requester = Screen::start(home_a.path(), &["--config", &config_a], 160, 40, &[]);
    let mut same_account = Screen::start(home_c.path(), &["--config", &config_c], 160, 40, &[]);
    // The approver: another OS account.
    let ondeck = env!("CARGO_BIN_EXE_ondeck");
    let mut approver = Screen::start_program(
        runuser,
        home_b.path(),
        &[
            "-p",
            "-u",
            OTHER_ACCOUNT,
            "--",
            ondeck,
            "--config",
            &config_b,
        ],
        (160, 40),
        &[],
    );
    for screen in [&requester, &same_account, &approver] {
        screen.wait_for("the store read", |s| {
            status_bar(s).contains("2 other consoles")
        });
    }

    // The request: picked and confirmed as any action; it waits instead of running.
    requester.type_keys("3a");
    requester.wait_for_text("touch-marker");
    requester.type_keys("\r");
    requester.wait_for_text("Run touch-marker?");
    requester.type_keys(RIGHT);
    requester.type_keys("\r");
    requester.wait_for("the request in its own Jobs pane", |s| {
        s.contains("touch-marker") && s.contains("REQUESTED")
    });
    assert!(!marker.exists(), "run before it was approved");

    // Every other console shows it within a refresh, with the badge.
    for screen in [&mut same_account, &mut approver] {
        screen.type_keys("3");
        screen.wait_for("the request and the badge", |s| {
            s.contains("REQUESTED") && status_bar(s).contains("1 approval waiting")
        });
    }
    assert!(!status_bar(&requester.contents()).contains("approval waiting"));

    // The requester's own account, from another console on the same machine, is refused by
    // the store, whatever console it uses.
    same_account.type_keys(HOME);
    same_account.type_keys("A");
    same_account.wait_for_text("Approve the request?");
    same_account.type_keys(RIGHT);
    same_account.type_keys("\r");
    same_account.wait_for("the refusal", |s| {
        status_bar(s).contains("refused") && s.contains("requester")
    });
    assert!(!marker.exists());
    let store = ondeck::store::Store::open(store_url).await.unwrap();
    let trail = || async {
        store
            .audit_since(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|record| record.action == "touch-marker")
            .collect::<Vec<_>>()
    };
    let refused: Vec<_> = trail()
        .await
        .into_iter()
        .filter(|record| record.outcome == "REFUSED")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("its requester"),
        "{refused:?}"
    );

    // The other account approves; the requester's console runs it.
    approver.type_keys(HOME);
    approver.type_keys("A");
    approver.wait_for_text("Approve the request?");
    approver.type_keys(RIGHT);
    approver.type_keys("\r");
    approver.wait_for("the approval", |s| {
        status_bar(s).contains("approved touch-marker")
    });
    requester.wait_for("the approved job run", |s| {
        s.contains("touch-marker") && s.contains("SUCCEEDED")
    });
    assert!(marker.exists(), "the approved action did not run");
    approver.wait_for("the badge gone", |s| {
        !status_bar(s).contains("approval waiting") && s.contains("SUCCEEDED")
    });
    let trail = trail().await;
    let outcomes: Vec<&str> = trail.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        ["REQUESTED", "REFUSED", "APPROVED", "SUCCEEDED"],
        "{trail:?}"
    );
    assert_eq!(
        trail[2].operator, OTHER_ACCOUNT,
        "the approval is the other account's"
    );

    // Headless: `ondeck run --wait` waits for the decision; a denial ends it with exit 1.
    let waiting = tokio::process::Command::new(ondeck)
        .args(["run", "deny-me", "--target", "deny-target", "--wait"])
        .args(["--config", &config_a])
        .env("HOME", home_a.path())
        .stdin(std::process::Stdio::null())
        .output();
    let waiting = tokio::spawn(waiting);
    approver.wait_for("the headless request", |s| {
        // The long wording or, beside the last notice, the short one.
        s.contains("deny-me") && status_bar(s).contains("1 appr")
    });
    approver.type_keys(HOME);
    approver.type_keys("D");
    approver.wait_for_text("Deny the request?");
    approver.type_keys(RIGHT);
    approver.type_keys("\r");
    let ran = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("ondeck run --wait ended after the denial")
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("DENIED"), "{stderr}");
    assert!(
        stderr.contains(&format!("denied by {OTHER_ACCOUNT}@")),
        "{stderr}"
    );

    for screen in [&mut requester, &mut same_account, &mut approver] {
        screen.type_keys("q");
        assert_eq!(screen.wait_exit(), 0);
    }
}

/// `ondeck run` of a two-person action without `--wait` records nothing but the refusal and
/// runs nothing: nobody would be there to run it once approved.
#[tokio::test]
async fn run_without_wait_refuses_a_two_person_action() {
    let home = tempfile::tempdir().unwrap();
    let marker = home.path().join("ran");
    let store_url = format!("sqlite://{}/data/ondeck.db", home.path().display());
    let config = config(home.path(), &store_url, &marker);
    let ran = tokio::process::Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .args(["run", "touch-marker", "--target", "x", "--yes"])
        .args(["--config", &config])
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("pass --wait"), "{stderr}");
    assert!(!marker.exists());
    let store = ondeck::store::Store::open(&store_url).await.unwrap();
    let outcomes: Vec<String> = store
        .audit_since(None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(outcomes, ["REFUSED"]);
    assert!(store.jobs(10).await.unwrap().is_empty());
}
