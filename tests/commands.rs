//! Commands ondeck runs for a `release` source: a command that starts a child of its own and
//! hangs leaves neither behind when the poll times out, and a command gets only the
//! environment it is given.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::path::Path;
use std::time::Duration;

use ondeck::config::{ReleaseFrom, ReleaseSource};
use ondeck::sources::fetch::{Redirects, shared_client};
use ondeck::sources::{Poller, ReleasePoller};

/// Whether `pid` is a process that still runs (a zombie waiting for its parent to reap it
/// runs no more).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S …`: the state follows the command name's closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .unwrap()
}

fn poller(argv: Vec<String>, pass_env: Vec<String>) -> ReleasePoller {
    let spec = ReleaseSource {
        from: ReleaseFrom::Argv(argv),
        environments: Vec::new(),
        pass_env,
    };
    ReleasePoller::new(
        "deploys",
        spec,
        Duration::from_secs(5),
        shared_client(Redirects::SameOrigin).unwrap(),
    )
}

#[tokio::test]
async fn a_hung_command_and_the_child_it_started_are_both_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (parent_file, child_file) = (dir.path().join("parent"), dir.path().join("child"));
    // The shell writes its own pid and its background child's, then waits for that child.
    let script = format!(
        "echo $$ > {parent}; sleep 97 & echo $! > {child}; wait",
        parent = parent_file.display(),
        child = child_file.display()
    );
    let mut poller = poller(vec!["sh".into(), "-c".into(), script], Vec::new());

    // The supervisor's timeout drops the poll like this.
    let timed_out = tokio::time::timeout(Duration::from_millis(700), poller.poll()).await;
    assert!(timed_out.is_err(), "the command hangs: {timed_out:?}");

    let (parent, child) = (read_pid(&parent_file), read_pid(&child_file));
    // Killing is immediate; being reaped by whoever inherits them may take a moment.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while (running(parent) || running(child)) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!running(parent), "the command ({parent}) still runs");
    assert!(!running(child), "the command's child ({child}) still runs");
}

#[tokio::test]
async fn a_command_gets_the_allowlisted_environment_and_what_the_configuration_names() {
    // Cargo sets CARGO_PKG_NAME and CARGO_MANIFEST_DIR for every test it runs: one is named,
    // the other stands for a secret exported for another source.
    let script = r#"printf '{"current_ref": "%s|%s|%s"}' "$CARGO_PKG_NAME" "${CARGO_MANIFEST_DIR:-unset}" "${PATH:+path}""#;
    let mut poller = poller(
        vec!["sh".into(), "-c".into(), script.into()],
        vec!["CARGO_PKG_NAME".into()],
    );
    let seen = poller.poll().await.unwrap();
    assert_eq!(
        seen.hosts[0].version.as_deref(),
        Some("ondeck|unset|path"),
        "named and allowlisted variables only"
    );
}
