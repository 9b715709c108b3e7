//! Actions end to end, through the `ondeck` binary as an operator or a script runs it: a
//! rollback of a real git checkout whose health endpoint reports the checked-out release, the
//! confirmation at a terminal, the refusals (read-only, a dry run, a store that cannot take
//! the intent), and what a killed, hung-up or interrupted `ondeck run` leaves in the audit log.
//!
//! Stores are SQLite in a temporary directory; the PostgreSQL variants, ignored without the
//! services `scripts/test-all.sh` starts, each create a database of their own on
//! `ONDECK_TEST_PG_URL`'s server and drop it at the end.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;
#[path = "support/fake_http.rs"]
mod fake_http;
#[path = "support/action_lab.rs"]
mod lab;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use fake_http::{FakeServer, Reply};
use lab::{
    Checkout, GroupGuard, Lab, PgRole, TcpProxy, describe, describe_ref, one_with_outcome,
    path_str, running, toml_argv, toml_string, wait_for_pid, wait_until, with_outcome,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use common::pty::Screen;

/// The deploy state of the checkout, as a deploy tool prints it: its current tag and the one
/// the file beside it recorded as the release before.
const RELEASE_STATE: &str = r#"
cd "$1" || exit 1
current=$(git describe --tags) || exit 1
printf '{"prod": {"current_ref": "%s", "previous_ref": "%s"}}\n' "$current" "$(cat "$2")"
"#;

/// The team's rollback program: checks out the release ondeck names, records the one it left,
/// and keeps the `ONDECK_*` variables it was given for the test to read.
const ROLLBACK: &str = r#"
cd "$1" || exit 1
env | grep '^ONDECK_' | sort > "$3"
git -c advice.detachedHead=false checkout -q "$ONDECK_RELEASE_TO" || exit 1
printf '%s\n' "$ONDECK_RELEASE_FROM" > "$2"
echo "checked out $ONDECK_RELEASE_TO"
"#;

/// A runbook script that takes a while: writes its pid, and its `sleep`'s, then when the
/// sleep is over a `done` file.
const SLOW: &str = r#"
echo $$ > "$1/slow.pid"
echo started
sleep "$2" &
echo $! > "$1/sleep.pid"
wait $!
touch "$1/slow.done"
echo done
"#;

/// A checkout of two releases at v2, the release source reading it and the rollback action
/// that takes it back to v1, in a lab.
struct Release {
    lab: Lab,
    checkout: Checkout,
    /// Written by the rollback program when it runs: proof that it ran, and what it was given.
    ran: PathBuf,
}

impl Release {
    fn new(lab: Lab) -> Release {
        let checkout = Checkout::new(lab.dir.path());
        std::fs::write(lab.path("release-state.sh"), RELEASE_STATE).unwrap();
        std::fs::write(lab.path("rollback.sh"), ROLLBACK).unwrap();
        let ran = lab.path("rollback-env");
        Release { lab, checkout, ran }
    }

    /// The configuration, its health check at `health_url`, with `more` after it, in `name`.
    fn config(&self, name: &str, health_url: &str, more: &str) -> PathBuf {
        let (repo, previous) = (
            path_str(&self.checkout.repo),
            path_str(&self.checkout.previous),
        );
        let state = self.lab.path("release-state.sh");
        let rollback = self.lab.path("rollback.sh");
        self.lab.config(
            name,
            &format!(
                r#"
[[source]]
name = "deploys"
kind = "release"
argv = {source_argv}
environments = ["prod"]

[[action]]
name = "rollback-prod"
kind = "rollback"
source = "deploys"
argv = {rollback_argv}
health = {{ url = {health}, within = "3s" }}

{more}
"#,
                source_argv = toml_argv(&["sh", path_str(&state), repo, previous]),
                rollback_argv = toml_argv(&[
                    "sh",
                    path_str(&rollback),
                    repo,
                    previous,
                    path_str(&self.ran)
                ]),
                health = toml_string(health_url),
            ),
        )
    }

    /// Nothing ran: the checkout is where it was and the rollback program never started.
    fn assert_nothing_ran(&self) {
        assert_eq!(self.checkout.current(), "v2", "the checkout moved");
        assert!(!self.ran.exists(), "the rollback program ran");
    }

    /// The `ONDECK_*` variables the rollback program was given.
    fn program_env(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(&self.ran)
            .unwrap()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

/// A health endpoint that answers 200 when the checkout is at `expected` and 503 otherwise,
/// reading the checkout at each request, with the release it found in the body.
async fn release_health(repo: &Path, expected: &'static str) -> FakeServer {
    let repo = repo.to_owned();
    FakeServer::start(move |_| {
        let current = describe_ref(&repo);
        let status = if current == expected { 200 } else { 503 };
        Reply::json(status, &format!(r#"{{"release": "{current}"}}"#))
    })
    .await
}

fn run_args<'a>(config: &'a Path, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--config", path_str(config), "run"];
    args.extend_from_slice(rest);
    args
}

/// The rollback through `ondeck run --yes`: the checkout goes back to v1, the health check
/// sees it there, and the audit pairs the intent and the outcome by job and request id.
async fn rollback_through_run(lab: Lab) {
    let release = Release::new(lab);
    let health = release_health(&release.checkout.repo, "v1").await;
    let config = release.config("release.toml", &health.url("/healthz"), "");

    let out = release.lab.run(&run_args(
        &config,
        &["rollback-prod", "--target", "prod", "--yes"],
    ));
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(release.checkout.current(), "v1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("prod goes back from release v2 to v1"),
        "the plan names the releases: {stdout}"
    );

    let audit = release.lab.audit(&config);
    let requested = one_with_outcome(&audit, "REQUESTED");
    let succeeded = one_with_outcome(&audit, "SUCCEEDED");
    let job_id = requested["job_id"]
        .as_str()
        .expect("the intent names its job");
    let request_id = requested["request_id"].as_str().unwrap();
    assert!(!request_id.is_empty());
    assert_eq!(succeeded["job_id"], job_id, "{audit:#?}");
    assert_eq!(succeeded["request_id"], request_id, "{audit:#?}");
    assert_eq!(succeeded["target"], "deploys/prod");
    assert!(
        health
            .requests()
            .iter()
            .any(|r| r.headers.get("x-request-id").map(String::as_str) == Some(request_id)),
        "the health check carried the action's request id {request_id}: {:?}",
        health.requests()
    );

    let env = release.program_env();
    let expected = [
        ("ONDECK_ACTION", "rollback-prod"),
        ("ONDECK_ENVIRONMENT", "prod"),
        ("ONDECK_JOB_ID", job_id),
        ("ONDECK_OPERATOR", &common::os_account()),
        ("ONDECK_RELEASE_FROM", "v2"),
        ("ONDECK_RELEASE_TO", "v1"),
        ("ONDECK_REQUEST_ID", request_id),
        ("ONDECK_TARGET", "prod"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(env, expected, "the rollback program's ONDECK_* variables");

    release.lab.assert_audit_verifies(&config);
    health.stop().await;
    release.lab.store.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_takes_a_git_checkout_back_and_its_health_check_sees_it() {
    rollback_through_run(Lab::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_rollback_recorded_in_postgresql() {
    rollback_through_run(Lab::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_target_at_a_terminal_runs_only_on_the_right_name() {
    let release = Release::new(Lab::sqlite());
    let health = release_health(&release.checkout.repo, "v1").await;
    let config = release.config("release.toml", &health.url("/healthz"), "");
    let args = run_args(&config, &["rollback-prod", "--target", "prod"]);
    let home = release.lab.dir.path();

    // A wrong name: refused, on screen and in the audit, and nothing ran.
    let mut screen = Screen::start(home, &args, 100, 30, &[]);
    screen.wait_for_text("Type the target's name (prod)");
    screen.type_keys("stage\r");
    assert_eq!(screen.wait_exit(), 1, "{}", screen.contents());
    let refusal = screen.wait_for_output("refused");
    assert!(
        refusal.contains(r#"typed "stage", expected "prod""#),
        "{refusal}"
    );
    release.assert_nothing_ran();
    let audit = release.lab.audit(&config);
    let refused = one_with_outcome(&audit, "REFUSED");
    assert!(
        refused["error"].as_str().unwrap().contains("stage"),
        "{refused:#}"
    );
    assert!(with_outcome(&audit, "REQUESTED").is_empty(), "{audit:#?}");

    // No terminal to ask at, and no --yes: refused too.
    let out = release.lab.run(&args);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no terminal"),
        "{}",
        describe(&out)
    );
    release.assert_nothing_ran();

    // The right name: it runs.
    let mut screen = Screen::start(home, &args, 100, 30, &[]);
    screen.wait_for_text("Type the target's name (prod)");
    screen.type_keys("prod\r");
    assert_eq!(screen.wait_exit(), 0, "{}", screen.contents());
    screen.wait_for_output("job SUCCEEDED");
    assert_eq!(release.checkout.current(), "v1");
    let audit = release.lab.audit(&config);
    one_with_outcome(&audit, "SUCCEEDED");
    health.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_health_check_fails_the_rollback() {
    let release = Release::new(Lab::sqlite());
    let health = FakeServer::start(|_| Reply::json(503, r#"{"status": "starting"}"#)).await;
    let config = release.config("release.toml", &health.url("/healthz"), "");

    let out = release.lab.run(&run_args(
        &config,
        &["rollback-prod", "--target", "prod", "--yes"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    // The rollback itself ran; the release it left is not healthy.
    assert_eq!(release.checkout.current(), "v1");
    let audit = release.lab.audit(&config);
    let failed = one_with_outcome(&audit, "FAILED");
    let error = failed["error"].as_str().unwrap();
    assert!(error.starts_with("health check failed"), "{failed:#}");
    assert!(error.contains("answered 503, expected 200"), "{failed:#}");
    assert_eq!(
        failed["job_id"],
        one_with_outcome(&audit, "REQUESTED")["job_id"]
    );
    assert!(!health.requests().is_empty());
    release.lab.assert_audit_verifies(&config);

    // The environment the rollback left unhealthy carries a critical alert.
    let out = release
        .lab
        .run(&["--config", path_str(&config), "snapshot", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let snapshot: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let alerts = snapshot["alerts"].as_array().unwrap();
    let alert = alerts
        .iter()
        .find(|a| a["name"] == "ActionHealthCheckFailed")
        .unwrap_or_else(|| panic!("no health alert: {alerts:#?}"));
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["target"], "deploys/prod");
    assert!(
        alert["summary"]
            .as_str()
            .unwrap()
            .contains("health check failed"),
        "{alert:#}"
    );
    health.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_shows_the_plan_and_runs_nothing() {
    let release = Release::new(Lab::sqlite());
    let health = release_health(&release.checkout.repo, "v1").await;
    let config = release.config("release.toml", &health.url("/healthz"), "");
    let read_only_config = release.config(
        "read-only.toml",
        &health.url("/healthz"),
        "[console]\nread_only = true",
    );
    let run = ["run", "rollback-prod", "--target", "prod", "--yes"];
    let ways: [(Vec<&str>, &str); 3] = [
        (
            [&["--read-only", "--config", path_str(&config)][..], &run].concat(),
            "--read-only",
        ),
        (
            [&["--config", path_str(&config)][..], &run, &["--read-only"]].concat(),
            "--read-only",
        ),
        (
            [&["--config", path_str(&read_only_config)][..], &run].concat(),
            "[console] read_only = true",
        ),
    ];
    for (args, why) in ways {
        let out = release.lab.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", describe(&out));
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            stdout.contains("action:  rollback-prod") && stdout.contains("v2 to v1"),
            "{args:?}: the plan is printed: {stdout}"
        );
        assert!(
            stderr.contains(&format!("read-only ({why})")),
            "{args:?}: {stderr}"
        );
        release.assert_nothing_ran();
    }
    assert!(health.requests().is_empty());
    health.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_is_recorded_and_runs_nothing() {
    let release = Release::new(Lab::sqlite());
    let health = release_health(&release.checkout.repo, "v1").await;
    let config = release.config("release.toml", &health.url("/healthz"), "");

    let out = release.lab.run(&run_args(
        &config,
        &["rollback-prod", "--target", "prod", "--dry-run"],
    ));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("v2 to v1"));
    release.assert_nothing_ran();
    let audit = release.lab.audit(&config);
    let dry_run = one_with_outcome(&audit, "DRY-RUN");
    assert_eq!(dry_run["target"], "deploys/prod");
    assert_eq!(audit.len(), 1, "{audit:#?}");
    health.stop().await;
}

/// A `command` action whose only effect is a marker file, and `quick` on the same target.
fn marker_actions(lab: &Lab) -> (String, PathBuf) {
    let marker = lab.path("marker");
    let actions = format!(
        r#"
[[action]]
name = "touch-marker"
kind = "command"
argv = {argv}
"#,
        argv = toml_argv(&["touch", path_str(&marker)])
    );
    (actions, marker)
}

/// How `ondeck run` refuses an action whose intent the store would not take.
const INTENT_NOT_RECORDED: &str = "the intent could not be recorded, so nothing was done";

/// How `ondeck run` refuses an action when the store does not open.
const STORE_NOT_OPENED: &str = "the store cannot record the action, so nothing was done";

/// `ondeck run touch-marker` must be refused, saying `why`, and leave no marker.
fn assert_refused_without_effect(lab: &Lab, config: &Path, marker: &Path, why: &str) {
    let out = lab.run(&run_args(
        config,
        &["touch-marker", "--target", "box", "--yes"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(why), "{stderr}");
    assert!(
        !marker.exists(),
        "the action ran without its intent recorded"
    );
}

/// `ondeck run touch-marker` runs: the store takes intents again.
fn assert_runs(lab: &Lab, config: &Path, marker: &Path) {
    let out = lab.run(&run_args(
        config,
        &["touch-marker", "--target", "box", "--yes"],
    ));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(marker.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_that_cannot_take_the_intent_refuses_every_action() {
    let lab = Lab::sqlite();
    let (actions, marker) = marker_actions(&lab);
    let config = lab.config("store.toml", &actions);
    // The store exists, with its schema.
    assert!(lab.audit(&config).is_empty());

    let db = lab.store.sqlite_path();
    let root = nix::unistd::geteuid().is_root();
    let why = if root {
        // File modes do not stop root from writing (and ondeck makes its database file 0600
        // when it opens it), so the database itself refuses: its audit table takes no more
        // rows. The store opens, and the intent is what cannot be written.
        let pool = sqlx::SqlitePool::connect(&lab.store.url).await.unwrap();
        sqlx::query(
            "CREATE TRIGGER audit_refused BEFORE INSERT ON audit \
             BEGIN SELECT RAISE(ABORT, 'the audit log is read-only'); END",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        INTENT_NOT_RECORDED
    } else {
        // A read-only file: the store does not open for writing.
        set_mode(db, 0o400);
        STORE_NOT_OPENED
    };

    assert_refused_without_effect(&lab, &config, &marker, why);

    if root {
        let pool = sqlx::SqlitePool::connect(&lab.store.url).await.unwrap();
        sqlx::query("DROP TRIGGER audit_refused")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        set_mode(db, 0o600);
    }
    assert_runs(&lab, &config, &marker);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_postgresql_store_that_is_down_refuses_every_action() {
    let lab = Lab::postgres().await;
    let (actions, marker) = marker_actions(&lab);
    // The store is reached through a proxy the test takes away.
    let proxy = TcpProxy::start(lab::pg_address(&lab.store.url)).await;
    let mut through_proxy = url::Url::parse(&lab.store.url).unwrap();
    through_proxy.set_port(Some(proxy.port)).unwrap();
    let config = lab.config_with_store("store.toml", through_proxy.as_str(), &actions);
    assert!(lab.audit(&config).is_empty());

    proxy.stop().await;
    assert_refused_without_effect(&lab, &config, &marker, STORE_NOT_OPENED);

    lab.store.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_postgresql_role_without_insert_on_the_audit_log_refuses_every_action() {
    let mut lab = Lab::postgres().await;
    let (actions, marker) = marker_actions(&lab);
    let admin_config = lab.config("admin.toml", &actions);
    assert!(lab.audit(&admin_config).is_empty());

    // A role that may do everything the store does except append to the audit log: the job
    // row it could write must not outlive the intent it cannot.
    let role = PgRole::create(lab.store.database()).await;
    for statement in [
        "GRANT USAGE ON SCHEMA ondeck TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ondeck TO {role}",
        "GRANT USAGE ON ALL SEQUENCES IN SCHEMA ondeck TO {role}",
        "REVOKE INSERT ON ondeck.audit FROM {role}",
    ] {
        lab::sql(&lab.store.url, &statement.replace("{role}", &role.name)).await;
    }
    // A URL with a password is read from the environment, never from the file.
    lab.set_env("ONDECK_E2E_ROLE_STORE", &role.url());
    let config = lab.config_with_store("role.toml", "env:ONDECK_E2E_ROLE_STORE", &actions);
    // The role may not create anything, and needs not: the store's schema is current, and
    // it reads the log.
    assert!(lab.audit(&config).is_empty());

    assert_refused_without_effect(&lab, &config, &marker, INTENT_NOT_RECORDED);
    let pool = sqlx::PgPool::connect(&lab.store.url).await.unwrap();
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM ondeck.jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(jobs, 0, "a job row without its intent record");
    assert_runs(&lab, &admin_config, &marker);
    // Dropping the role drops the database too.
    drop(role);
}

/// The lab's `slow` action: [`SLOW`] sleeping `seconds`, on the target `box`; and `touch-marker`.
fn slow_config(lab: &Lab, seconds: u32) -> PathBuf {
    let script = lab.path("slow.sh");
    std::fs::write(&script, SLOW).unwrap();
    let (marker_action, _) = marker_actions(lab);
    lab.config(
        "slow.toml",
        &format!(
            r#"
[[action]]
name = "slow"
kind = "command"
argv = {argv}
{marker_action}
"#,
            argv = toml_argv(&[
                "sh",
                path_str(&script),
                path_str(lab.dir.path()),
                &seconds.to_string()
            ])
        ),
    )
}

/// `ondeck run slow --target box --yes` started in the background, its output in files.
fn start_slow(lab: &Lab, config: &Path) -> std::process::Child {
    let log = |name: &str| Stdio::from(std::fs::File::create(lab.path(name)).unwrap());
    lab.ondeck(&run_args(config, &["slow", "--target", "box", "--yes"]))
        .stdout(log("run.out"))
        .stderr(log("run.err"))
        .spawn()
        .unwrap()
}

async fn killed_mid_action(lab: Lab) {
    let config = slow_config(&lab, 60);
    let mut ondeck = start_slow(&lab, &config);
    // The script outlives the killed ondeck (nothing is left to stop it); the test ends it.
    let _script = GroupGuard(wait_for_pid(&lab.path("slow.pid")));
    ondeck.kill().unwrap();
    ondeck.wait().unwrap();

    let snapshot = lab.run(&["--config", path_str(&config), "snapshot", "--json"]);
    let snapshot: serde_json::Value = serde_json::from_slice(&snapshot.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", describe(&snapshot)));
    let jobs = snapshot["jobs"].as_array().unwrap();
    let job = jobs
        .iter()
        .find(|job| job["action"] == "slow")
        .unwrap_or_else(|| panic!("no slow job: {jobs:#?}"));
    assert_eq!(job["state"], "INTERRUPTED", "{job:#}");

    let audit = lab.audit(&config);
    let requested = one_with_outcome(&audit, "REQUESTED");
    let interrupted = one_with_outcome(&audit, "INTERRUPTED");
    assert_eq!(interrupted["job_id"], requested["job_id"], "{audit:#?}");
    assert_eq!(interrupted["job_id"], job["id"], "{audit:#?}");
    assert!(
        interrupted["error"].as_str().unwrap().contains("is gone"),
        "{interrupted:#}"
    );
    lab.assert_audit_verifies(&config);

    // The killed job no longer holds its target.
    let marker = lab.path("marker");
    assert_runs(&lab, &config, &marker);
    lab.store.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_action_leaves_its_job_interrupted_and_its_target_free() {
    killed_mid_action(Lab::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_run_killed_mid_action_on_postgresql() {
    killed_mid_action(Lab::postgres().await).await;
}

#[test]
fn a_hang_up_mid_action_lets_it_finish_and_record_its_outcome() {
    let lab = Lab::sqlite();
    let config = slow_config(&lab, 2);
    let mut screen = Screen::start(
        lab.dir.path(),
        &run_args(&config, &["slow", "--target", "box", "--yes"]),
        100,
        30,
        &[],
    );
    let _script = GroupGuard(wait_for_pid(&lab.path("slow.pid")));
    screen.wait_for_text("job RUNNING");
    screen.hang_up();

    assert_eq!(screen.wait_exit(), 0);
    assert!(lab.path("slow.done").exists(), "the action did not finish");
    let audit = lab.audit(&config);
    assert_eq!(
        one_with_outcome(&audit, "SUCCEEDED")["job_id"],
        one_with_outcome(&audit, "REQUESTED")["job_id"]
    );
    lab.assert_audit_verifies(&config);
}

#[test]
fn a_hang_up_then_a_terminate_mid_action_still_lets_it_finish() {
    // What the end of a login session sends: the terminal hangs up, then SIGTERM. The first
    // SIGTERM lets the action finish, though there is no terminal left to say so on.
    let lab = Lab::sqlite();
    let config = slow_config(&lab, 2);
    let mut screen = Screen::start(
        lab.dir.path(),
        &run_args(&config, &["slow", "--target", "box", "--yes"]),
        100,
        30,
        &[],
    );
    let _script = GroupGuard(wait_for_pid(&lab.path("slow.pid")));
    screen.wait_for_text("job RUNNING");
    screen.hang_up();
    let ondeck = Pid::from_raw(i32::try_from(screen.pid().unwrap()).unwrap());
    kill(ondeck, Signal::SIGTERM).unwrap();

    assert_eq!(screen.wait_exit(), 0);
    assert!(lab.path("slow.done").exists(), "the action did not finish");
    let audit = lab.audit(&config);
    one_with_outcome(&audit, "SUCCEEDED");
    lab.assert_audit_verifies(&config);
}

/// `ondeck run slow` given `signal` mid-action, after `first` (which it must acknowledge on
/// stderr) if any: the action is cancelled, its processes stopped, CANCELLED recorded.
fn cancelled_mid_action(first: Option<(Signal, &str)>, signal: Signal) {
    let lab = Lab::sqlite();
    let config = slow_config(&lab, 60);
    let mut ondeck = start_slow(&lab, &config);
    let pid = Pid::from_raw(i32::try_from(ondeck.id()).unwrap());
    let _script = GroupGuard(wait_for_pid(&lab.path("slow.pid")));
    let sleep = wait_for_pid(&lab.path("sleep.pid"));
    assert!(running(sleep));

    if let Some((first, acknowledged)) = first {
        kill(pid, first).unwrap();
        wait_until(&format!("ondeck says {acknowledged:?}"), || {
            std::fs::read_to_string(lab.path("run.err")).is_ok_and(|err| err.contains(acknowledged))
        });
        assert!(running(sleep), "the first {first} stopped the action");
    }
    kill(pid, signal).unwrap();
    let status = ondeck.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    wait_until("the script's sleep is stopped", || !running(sleep));
    assert!(!lab.path("slow.done").exists());
    let audit = lab.audit(&config);
    let cancelled = one_with_outcome(&audit, "CANCELLED");
    assert_eq!(
        cancelled["job_id"],
        one_with_outcome(&audit, "REQUESTED")["job_id"]
    );
    lab.assert_audit_verifies(&config);
}

#[test]
fn an_interrupt_mid_action_cancels_it_and_stops_its_processes() {
    cancelled_mid_action(None, Signal::SIGINT);
}

#[test]
fn a_second_terminate_mid_action_cancels_it_and_stops_its_processes() {
    cancelled_mid_action(
        Some((Signal::SIGTERM, "letting the action finish")),
        Signal::SIGTERM,
    );
}

/// The same rollback from the console, as an operator does it: the action on the release's
/// row, the target's name typed, the job SUCCEEDED in the Jobs pane and the row's release the
/// previous one at the next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_from_the_console_on_the_release_row() {
    let release = Release::new(Lab::sqlite());
    let health = release_health(&release.checkout.repo, "v1").await;
    let config = release.config("release.toml", &health.url("/healthz"), "");
    let home = release.lab.dir.path();
    let mut screen = Screen::start(home, &["--config", path_str(&config)], 120, 35, &[]);
    screen.wait_for("the release row at v2", |s| {
        s.lines().any(|l| l.contains("prod") && l.contains("v2"))
    });
    screen.type_keys("a");
    screen.wait_for_text("rollback-prod");
    screen.type_keys("\r");
    screen.wait_for_text("prod goes back from release v2 to v1");
    screen.wait_for_text("Type prod to run:");
    screen.type_keys("prod\r");
    screen.type_keys("3");
    screen.wait_for("the job succeeded in the Jobs pane", |s| {
        s.lines()
            .any(|l| l.contains("rollback-prod") && l.contains("SUCCEEDED"))
    });
    assert_eq!(release.checkout.current(), "v1");
    screen.type_keys("1");
    screen.wait_for("the release row at v1 after the next poll", |s| {
        s.lines().any(|l| l.contains("prod") && l.contains("v1"))
    });
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    let audit = release.lab.audit(&config);
    let succeeded = one_with_outcome(&audit, "SUCCEEDED");
    assert_eq!(succeeded["target"], "deploys/prod");
    release.lab.assert_audit_verifies(&config);
}
