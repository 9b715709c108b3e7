//! What the end-to-end action tests act on and look at: a store (SQLite in the lab's
//! directory, or a database of its own on `ONDECK_TEST_PG_URL`'s server), a real git checkout
//! with two tagged releases and the scripts that report and roll back its release, and the
//! `ondeck` binary run against them the way an operator's shell runs it.

#![allow(dead_code)] // Each test file uses its own subset.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Executor;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// How long a test waits for something another process does before it fails. Generous: it
/// bounds a hung test, it measures nothing.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Where the actions are recorded.
pub struct TestStore {
    pub url: String,
    /// The server's admin URL and the database created for this test, dropped by `finish`.
    postgres: Option<(String, String)>,
}

impl TestStore {
    pub fn sqlite(dir: &Path) -> TestStore {
        TestStore {
            url: format!("sqlite://{}/store/ondeck.db", dir.display()),
            postgres: None,
        }
    }

    /// A fresh database on `ONDECK_TEST_PG_URL`'s server.
    pub async fn postgres() -> TestStore {
        let admin = pg_admin_url();
        let name = unique_name("ondeck_e2e");
        sql(&admin, &format!("CREATE DATABASE {name}")).await;
        TestStore {
            url: pg_url_for(&admin, &name, None),
            postgres: Some((admin, name)),
        }
    }

    /// The SQLite database's file.
    pub fn sqlite_path(&self) -> &Path {
        Path::new(self.url.strip_prefix("sqlite://").expect("a SQLite store"))
    }

    /// The PostgreSQL database's name.
    pub fn database(&self) -> &str {
        &self.postgres.as_ref().expect("a PostgreSQL store").1
    }

    /// Drops the PostgreSQL database; a failed test's is left for inspection.
    pub async fn finish(self) {
        if let Some((admin, name)) = &self.postgres {
            sql(admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
        }
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("ONDECK_TEST_PG_URL")
        .expect("ONDECK_TEST_PG_URL is not set; scripts/test-all.sh starts PostgreSQL and sets it")
}

/// `admin`'s server, database `database`, as `user` (with its password) if given.
pub fn pg_url_for(admin: &str, database: &str, user: Option<(&str, &str)>) -> String {
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(database);
    if let Some((name, password)) = user {
        url.set_username(name).unwrap();
        url.set_password(Some(password)).unwrap();
    }
    url.to_string()
}

/// Runs one statement at `url`.
pub async fn sql(url: &str, statement: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    pool.execute(statement)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    pool.close().await;
}

/// A login role on `ONDECK_TEST_PG_URL`'s server with privileges in one database, both
/// dropped when this is, whether the test passed or not: roles are shared by every database
/// of the server, so none is left behind.
pub struct PgRole {
    pub name: String,
    pub password: String,
    database: String,
}

impl PgRole {
    /// Creates the role, allowed to log in to `database` (which it then owns the end of).
    pub async fn create(database: &str) -> PgRole {
        let role = PgRole {
            name: unique_name("ondeck_e2e_role"),
            password: uuid::Uuid::new_v4().simple().to_string(),
            database: database.to_owned(),
        };
        let admin = pg_admin_url();
        sql(
            &admin,
            &format!(
                "CREATE ROLE {} LOGIN PASSWORD '{}'",
                role.name, role.password
            ),
        )
        .await;
        sql(
            &admin,
            &format!("GRANT CONNECT ON DATABASE {database} TO {}", role.name),
        )
        .await;
        role
    }

    /// The database's URL, logged in as this role.
    pub fn url(&self) -> String {
        pg_url_for(
            &pg_admin_url(),
            &self.database,
            Some((&self.name, &self.password)),
        )
    }
}

impl Drop for PgRole {
    fn drop(&mut self) {
        // The role holds privileges in the database, so the database goes first. On a thread
        // of its own: a test's runtime cannot be blocked on from inside it.
        let statements = [
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
            format!("DROP ROLE IF EXISTS {}", self.name),
        ];
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let admin = pg_admin_url();
            for statement in statements {
                runtime.block_on(sql(&admin, &statement));
            }
        })
        .join();
        if dropped.is_err() && !std::thread::panicking() {
            panic!("the test role {} was not dropped", self.name);
        }
    }
}

/// A name no other test run uses, for databases and roles on a shared server.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A temporary home for ondeck, its configuration and the things the actions touch.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub store: TestStore,
    /// Variables ondeck gets besides a login shell's (a secret the configuration reads).
    env: Vec<(String, String)>,
}

impl Lab {
    pub fn sqlite() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let store = TestStore::sqlite(dir.path());
        Lab {
            dir,
            store,
            env: Vec::new(),
        }
    }

    pub async fn postgres() -> Lab {
        Lab {
            dir: tempfile::tempdir().unwrap(),
            store: TestStore::postgres().await,
            env: Vec::new(),
        }
    }

    /// Gives every ondeck this lab runs the variable `name`.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.push((name.to_owned(), value.to_owned()));
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a configuration with this lab's store and `rest`, returns its path.
    pub fn config(&self, name: &str, rest: &str) -> PathBuf {
        self.config_with_store(name, &self.store.url, rest)
    }

    /// Writes a configuration with the store at `store_url` and `rest`, returns its path.
    pub fn config_with_store(&self, name: &str, store_url: &str, rest: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(
            &path,
            format!("[store]\nurl = {}\n\n{rest}", toml_string(store_url)),
        )
        .unwrap();
        path
    }

    /// `ondeck ARGS` with only the environment a login shell would give it, in this lab's home.
    pub fn ondeck(&self, args: &[&str]) -> Command {
        let home = self.dir.path();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ondeck"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("USER", "alice")
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_STATE_HOME", home.join("state"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    /// Runs `ondeck ARGS` to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.ondeck(args).output().expect("ondeck runs")
    }

    /// The audit log, oldest first, as `ondeck audit --json` prints it.
    pub fn audit(&self, config: &Path) -> Vec<Value> {
        let out = self.run(&["--config", path_str(config), "audit", "--json"]);
        assert!(out.status.success(), "ondeck audit: {}", describe(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `ondeck audit --verify`, which must find the chain intact.
    pub fn assert_audit_verifies(&self, config: &Path) {
        let out = self.run(&["--config", path_str(config), "audit", "--verify"]);
        assert!(out.status.success(), "audit --verify: {}", describe(&out));
    }
}

/// The records of `audit` with this outcome.
pub fn with_outcome<'a>(audit: &'a [Value], outcome: &str) -> Vec<&'a Value> {
    audit.iter().filter(|r| r["outcome"] == outcome).collect()
}

/// The one record of `audit` with this outcome.
pub fn one_with_outcome<'a>(audit: &'a [Value], outcome: &str) -> &'a Value {
    match with_outcome(audit, outcome).as_slice() {
        [one] => one,
        other => panic!(
            "expected one {outcome} record, found {}: {audit:#?}",
            other.len()
        ),
    }
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A TOML basic string holding `text` (a JSON string is one).
pub fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// A TOML array of strings.
pub fn toml_argv(argv: &[&str]) -> String {
    let items: Vec<String> = argv.iter().map(|a| toml_string(a)).collect();
    format!("[{}]", items.join(", "))
}

/// Exit status and both outputs, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Waits until `ready` holds; panics with `what` after [`PATIENCE`].
pub fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < PATIENCE, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `pid` is a process that still runs (a zombie waiting to be reaped runs no more).
pub fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S …`: the state follows the command name's closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The pid a script wrote to `path`, once it has.
pub fn wait_for_pid(path: &Path) -> i32 {
    wait_until(&format!("{} written", path.display()), || {
        std::fs::read_to_string(path).is_ok_and(|s| s.ends_with('\n'))
    });
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A process group the test caused and ends by its id, whatever happens to the test.
pub struct GroupGuard(pub i32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// A git checkout with two tagged releases, `v1` and `v2`, at `v2`; a file records the
/// release before the current one, as a deploy tool would.
pub struct Checkout {
    pub repo: PathBuf,
    pub previous: PathBuf,
}

impl Checkout {
    pub fn new(dir: &Path) -> Checkout {
        let repo = dir.join("app");
        std::fs::create_dir(&repo).unwrap();
        git(&repo, &["init", "-q"]);
        for release in ["v1", "v2"] {
            std::fs::write(repo.join("RELEASE"), release).unwrap();
            git(&repo, &["add", "RELEASE"]);
            git(&repo, &["commit", "-q", "-m", release]);
            git(&repo, &["tag", release]);
        }
        git(&repo, &["checkout", "-q", "v2"]);
        let previous = dir.join("previous-release");
        std::fs::write(&previous, "v1\n").unwrap();
        Checkout { repo, previous }
    }

    /// The release checked out now.
    pub fn current(&self) -> String {
        describe_ref(&self.repo)
    }
}

/// The tag checked out in `repo`, read now.
pub fn describe_ref(repo: &Path) -> String {
    git(repo, &["describe", "--tags"])
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "-c",
            "user.name=Release Test",
            "-c",
            "user.email=release@example.com",
            "-c",
            "advice.detachedHead=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", describe(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Forwards TCP connections on a loopback port to `upstream` until stopped: a database server
/// the test can take away.
pub struct TcpProxy {
    pub port: u16,
    task: JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(upstream: String) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            // Dropped with the task, which closes every forwarded connection.
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        });
        TcpProxy { port, task }
    }

    /// Closes the port and every connection through it.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// `host:port` of a PostgreSQL URL.
pub fn pg_address(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
}
