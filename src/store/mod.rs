//! The store: the tamper-evident audit log, the job ledger and the operator sessions, in SQLite
//! (the embedded default, one file under the user data directory) or PostgreSQL (shared between
//! operators). Both carry the same schema, created by the embedded migrations in
//! `migrations/sqlite` and `migrations/postgres`.
//!
//! The backend is an enum of the two typed pools rather than sqlx's `AnyPool`, because the parts
//! that make the store safe are backend-specific and `Any` cannot express them: SQLite's WAL
//! journal, busy timeout and foreign keys are connection options, appends take SQLite's write
//! lock with `BEGIN IMMEDIATE` but PostgreSQL's with `SELECT … FOR UPDATE`, and PostgreSQL gets
//! its own schema. Everything else is one SQL text run on either pool (see `on_pool!`), using
//! only types both decode alike (`BIGINT` / `INTEGER` times in unix milliseconds, `TEXT`,
//! `REAL` / `DOUBLE PRECISION`).

mod approvals;
mod audit;
mod jobs;
mod sessions;
mod totp;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::mask_url;
use crate::config::transport::pg_connect_options;

pub use approvals::{DecisionRefusal, RequestStatus, requester_key};
pub use audit::{BreakKind, ChainBreak, ChainHead, NewAudit, SUMMARY_KEY, VerifyReport};
pub use jobs::{HEALTH_ALERT, JobOwner};
pub use sessions::SESSION_TTL;
pub use totp::{FREE_TOTP_FAILURES, TotpVerdict};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// PostgreSQL schema holding ondeck's tables (and sqlx's migration ledger), so a store URL that
/// points at an application's database never collides with that application's own `jobs`,
/// `audit` or `_sqlx_migrations` tables.
/// The `source` of audit and job rows read from the store.
pub const STORE_SOURCE: &str = "store";
/// The `source` of the operator-session rows: ondeck's own consoles.
pub const OPERATOR_SESSIONS_SOURCE: &str = "ondeck";

const PG_SCHEMA: &str = "ondeck";

/// How long a writer waits for another process's SQLite write lock before giving up: long
/// enough for another console's append, short enough that a stuck lock shows as an error.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a PostgreSQL connection: a dead server must not stall the console.
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The server ends any one statement of the store's that runs longer: a lock held by a stuck
/// session must not hang an operator's action or the console's refresh.
const PG_STATEMENT_TIMEOUT: &str = "10s";
/// The store's directory and files are readable by their owner alone: they hold the audit log,
/// who operated and from which address.
const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;

/// The state of an operator action: a job's state and the outcome of its audit records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionState {
    /// Asked for; the write-ahead audit record. Two-person actions wait here for approval.
    Requested,
    /// A two-person request another operator approved: its requester runs it next.
    Approved,
    /// A two-person request another operator denied; final.
    Denied,
    /// A two-person request nobody decided before it expired; final.
    Expired,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// The process running it went away (a crash, kill -9, a power loss) before it finished;
    /// found and recorded by the next ondeck to start.
    Interrupted,
    /// Not started: the confirmation did not match, the target changed, the store was down.
    /// An audit outcome only; no job is opened for it.
    Refused,
    /// `ondeck run --dry-run`: planned and shown, nothing done. An audit outcome only.
    DryRun,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Requested => "REQUESTED",
            ActionState::Approved => "APPROVED",
            ActionState::Denied => "DENIED",
            ActionState::Expired => "EXPIRED",
            ActionState::Running => "RUNNING",
            ActionState::Succeeded => "SUCCEEDED",
            ActionState::Failed => "FAILED",
            ActionState::Cancelled => "CANCELLED",
            ActionState::Interrupted => "INTERRUPTED",
            ActionState::Refused => "REFUSED",
            ActionState::DryRun => "DRY-RUN",
        }
    }

    /// A final state ends a job and frees its target. The other three are exactly the states
    /// listed in the `jobs_one_active_per_target` index of the migrations.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            ActionState::Requested | ActionState::Approved | ActionState::Running
        )
    }
}

impl fmt::Display for ActionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors callers branch on: `TargetBusy` refuses an action, `Unwritable` / `Unavailable` /
/// `BadUrl` are startup problems shown as one paragraph, `NotFound` / `JobFinished` are
/// harmless races between a job's runner and its canceller.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store URL {url} cannot be used: {reason}. Set `[store] url` in the configuration to \
         sqlite:///absolute/path/ondeck.db or postgres://user@host:5432/database."
    )]
    BadUrl { url: String, reason: String },
    #[error(
        "cannot create the ondeck database at {}: {reason}. ondeck keeps its audit log and job \
         ledger there. Make that directory writable, set XDG_DATA_HOME to a writable directory, \
         or set `[store] url` in the configuration to a writable sqlite:///… path or a \
         postgres://… URL.",
        path.display()
    )]
    Unwritable { path: PathBuf, reason: String },
    #[error("the store {store} is unavailable: {reason}")]
    Unavailable { store: String, reason: String },
    #[error(
        "the store {store} could not be brought to this ondeck's schema: {reason}. If a newer \
         ondeck created it, upgrade this one; otherwise point `[store] url` at a new database."
    )]
    Migration { store: String, reason: String },
    #[error(
        "{target} is busy: job {job_id} ({action} by {operator}) is {state}. Wait for it to \
         finish or cancel it first."
    )]
    TargetBusy {
        target: String,
        job_id: String,
        action: String,
        operator: String,
        state: String,
    },
    #[error("no {kind} {id} in the store")]
    NotFound { kind: &'static str, id: String },
    #[error("job {id} has already finished as {state}")]
    JobFinished { id: String, state: String },
    #[error("job {job_id} cannot be decided: {why}")]
    DecisionRefused {
        job_id: String,
        why: DecisionRefusal,
    },
    #[error("{state} is not a state {operation} accepts")]
    WrongState {
        operation: &'static str,
        state: ActionState,
    },
    #[error(
        "the audit log's head is out of step with its records (record {seq} already exists), so \
         no record can be appended; run `ondeck audit --verify` to find the tampered record"
    )]
    ChainBroken { seq: i64 },
    #[error("the store {store} holds an unreadable {what}: {reason}")]
    Corrupt {
        store: String,
        what: String,
        reason: String,
    },
    #[error("a query on the store {store} failed: {source}")]
    Query {
        store: String,
        #[source]
        source: sqlx::Error,
    },
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs one expression against whichever pool the store has. The expression is written once and
/// compiled for both backends, so the SQL in it must be valid on both (`$1` placeholders are).
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
use on_pool;

/// The few statements that must differ between the backends.
struct Dialect {
    /// Starts a transaction that already holds the right to write the audit chain.
    begin_write: &'static str,
    /// Reads the chain's head inside `begin_write`, locking it where the lock is per row, and
    /// the connection's database role (`session_user`; NULL where there are none).
    read_audit_head_for_append: &'static str,
    /// The connection's database role as an SQL expression, NULL where there are none.
    session_user: &'static str,
    /// Starts a read-only transaction whose statements all see one snapshot.
    begin_snapshot: &'static str,
}

static SQLITE_DIALECT: Dialect = Dialect {
    // A plain BEGIN would take the write lock only at the INSERT, after both appenders had read
    // the same head; IMMEDIATE takes it first and waits out the busy timeout for it.
    begin_write: "BEGIN IMMEDIATE",
    read_audit_head_for_append: "SELECT seq, hash, NULL FROM audit_head WHERE id = 1",
    session_user: "NULL",
    // In WAL mode a deferred transaction reads from one snapshot until it ends.
    begin_snapshot: "BEGIN",
};

static POSTGRES_DIALECT: Dialect = Dialect {
    begin_write: "BEGIN",
    read_audit_head_for_append: "SELECT seq, hash, CAST(session_user AS TEXT) FROM audit_head \
                                 WHERE id = 1 FOR UPDATE",
    session_user: "CAST(session_user AS TEXT)",
    begin_snapshot: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
};

/// A handle on the store; cheap to clone (the pools are shared).
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    label: String,
}

impl Store {
    /// Opens (and on first use creates) the store at `url` and brings its schema up to date.
    ///
    /// `sqlite:///abs/path.db` (a leading `~/` is expanded), `sqlite:relative.db`,
    /// `postgres://…` / `postgresql://…`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        match Location::parse(url)? {
            Location::Sqlite {
                options,
                path,
                label,
            } => open_sqlite(options, path, label).await,
            Location::Postgres { options, label } => open_postgres(options, label).await,
        }
    }

    /// What [`Store::label`] will say once the store at `url` is open, without opening it: the
    /// console shows where its store is while it connects. A URL that can never work is an
    /// error here already.
    pub fn label_for(url: &str) -> Result<String, StoreError> {
        Ok(match Location::parse(url)? {
            Location::Sqlite { label, .. } | Location::Postgres { label, .. } => label,
        })
    }

    /// Where the store lives, for the status bar: `sqlite:~/.local/share/ondeck/ondeck.db` or
    /// `postgres://ops:***@db.example.com/ondeck`.
    pub fn label(&self) -> String {
        self.label.clone()
    }

    fn dialect(&self) -> &'static Dialect {
        match self.backend {
            Backend::Sqlite(_) => &SQLITE_DIALECT,
            Backend::Postgres(_) => &POSTGRES_DIALECT,
        }
    }

    /// Classifies a failed query: lost connections and lock timeouts mean the store is
    /// unavailable right now; anything else is a failed query.
    fn error(&self, source: sqlx::Error) -> StoreError {
        let unavailable = match &source {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => {
                let sqlite_busy = sqlite_code(db.as_ref())
                    .is_some_and(|code| code == SQLITE_BUSY || code == SQLITE_LOCKED);
                // SQLSTATE class 08 is a lost connection, 57P0x a server shutting down.
                let postgres_gone = db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some_and(|pg| pg.code().starts_with("08") || pg.code().starts_with("57P"));
                sqlite_busy || postgres_gone
            }
            _ => false,
        };
        if unavailable {
            StoreError::Unavailable {
                store: self.label.clone(),
                reason: source.to_string(),
            }
        } else {
            StoreError::Query {
                store: self.label.clone(),
                source,
            }
        }
    }

    /// Converts a stored unix-millisecond time, which only a hand edit can put out of range.
    fn time(&self, ms: i64, what: impl FnOnce() -> String) -> Result<DateTime<Utc>, StoreError> {
        DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt {
            store: self.label.clone(),
            what: what(),
            reason: format!("time {ms} ms is out of range"),
        })
    }
}

const SQLITE_LOCKED: i32 = 6;
const SQLITE_BUSY: i32 = 5;
const SQLITE_READONLY: i32 = 8;
const SQLITE_CANTOPEN: i32 = 14;

/// The primary SQLite result code of a database error, if it came from SQLite.
fn sqlite_code(err: &dyn sqlx::error::DatabaseError) -> Option<i32> {
    err.try_downcast_ref::<sqlx::sqlite::SqliteError>()?;
    // sqlx reports SQLite's extended code; the low byte is the primary code.
    let extended: i32 = err.code()?.parse().ok()?;
    Some(extended & 0xff)
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf())
}

/// A store URL, understood but not yet connected to.
enum Location {
    Sqlite {
        options: SqliteConnectOptions,
        path: PathBuf,
        label: String,
    },
    Postgres {
        options: PgConnectOptions,
        label: String,
    },
}

impl Location {
    /// `sqlite:///abs/path.db` (a leading `~/` is expanded), `sqlite:relative.db`,
    /// `postgres://…` / `postgresql://…`.
    fn parse(url: &str) -> Result<Location, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Location::postgres(url)
        } else if url.starts_with("sqlite:") {
            Location::sqlite(url)
        } else {
            Err(StoreError::BadUrl {
                url: mask_url(url),
                reason: "only sqlite: and postgres: URLs are supported".into(),
            })
        }
    }

    fn sqlite(url: &str) -> Result<Location, StoreError> {
        let bad_url = |reason: String| StoreError::BadUrl {
            url: url.to_string(),
            reason,
        };
        // The config layer expands `~`; tolerate URLs that reach us without that step.
        let home_relative = ["sqlite://~/", "sqlite:~/"]
            .iter()
            .find_map(|prefix| url.strip_prefix(prefix));
        let expanded = match home_relative {
            Some(rest) => {
                let home =
                    home_dir().ok_or_else(|| bad_url("no home directory to expand ~".into()))?;
                format!("sqlite://{}/{rest}", home.display())
            }
            None => url.to_string(),
        };
        let options = SqliteConnectOptions::from_str(&expanded)
            .map_err(|e| bad_url(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // The write-ahead audit record must survive a power cut once the action has started.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let path = options.get_filename().to_path_buf();
        let label = format!("sqlite:{}", shorten_home(&path));
        Ok(Location::Sqlite {
            options,
            path,
            label,
        })
    }

    fn postgres(url: &str) -> Result<Location, StoreError> {
        let label = mask_url(url);
        // TLS as a postgres source gets it: verify-full off this machine (the CA of `[store]
        // ca_file` travels in the URL as `sslrootcert`).
        let options = pg_connect_options(url, None)
            .map_err(|e| StoreError::BadUrl {
                url: label.clone(),
                reason: e.to_string(),
            })?
            .application_name("ondeck")
            .options([
                ("search_path", PG_SCHEMA),
                ("statement_timeout", PG_STATEMENT_TIMEOUT),
            ]);
        Ok(Location::Postgres { options, label })
    }
}

async fn open_sqlite(
    options: SqliteConnectOptions,
    path: PathBuf,
    label: String,
) -> Result<Store, StoreError> {
    let unwritable = |reason: String| StoreError::Unwritable {
        path: path.clone(),
        reason,
    };
    make_private_file(&path).map_err(unwritable)?;
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| {
            let cannot_write = e
                .as_database_error()
                .and_then(sqlite_code)
                .is_some_and(|code| code == SQLITE_CANTOPEN || code == SQLITE_READONLY);
            if cannot_write || matches!(e, sqlx::Error::Io(_)) {
                unwritable(e.to_string())
            } else {
                StoreError::Unavailable {
                    store: label.clone(),
                    reason: e.to_string(),
                }
            }
        })?;
    SQLITE_MIGRATIONS
        .run(&pool)
        .await
        .map_err(|e| migration_error(&label, e))?;
    Ok(Store {
        backend: Backend::Sqlite(pool),
        label,
    })
}

/// Creates the database file (and any missing directories) readable by its owner alone before
/// SQLite opens it, since SQLite gives its `-wal` and `-shm` files the database file's mode.
/// Files left more open by an older ondeck are made private too; an existing directory is left
/// as it is, because it may be shared (`/var/lib`), while directories created here are private.
///
/// The one exception is a directory an administrator prepared for a team's store (setgid,
/// group-writable, nothing for others: `install -d -m 2770 -g ops /srv/ondeck`): there the
/// files are the group's too (0660), so that consoles of the team's OS accounts share the store
/// — a two-person request on one machine needs a second account — and a file another account
/// created already that way is used as it is.
fn make_private_file(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};

    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIR_MODE)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mode = if dir.is_some_and(is_team_dir) {
        TEAM_FILE_MODE
    } else {
        PRIVATE_FILE_MODE
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(mode)
        .open(path)
        .map_err(|e| e.to_string())?;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let (owner, current) = match std::fs::metadata(&file) {
            Ok(meta) => (meta.uid(), meta.permissions().mode() & 0o777),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", Path::new(&file).display())),
        };
        // Another account's file in a team's directory, no more open than it should be, is
        // theirs to keep so.
        let theirs = owner != nix::unistd::geteuid().as_raw();
        if theirs && mode == TEAM_FILE_MODE && current & !TEAM_FILE_MODE == 0 {
            continue;
        }
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "cannot make {} private: {e}",
                    Path::new(&file).display()
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The mode of a store's files in a team's directory: its owner and its group.
const TEAM_FILE_MODE: u32 = 0o660;

/// Whether `dir` was prepared for a team's store: setgid (files get its group), writable by
/// that group, and nothing for anyone else.
fn is_team_dir(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;

    std::fs::metadata(dir).is_ok_and(|meta| {
        let mode = meta.permissions().mode();
        meta.is_dir() && mode & 0o2000 != 0 && mode & 0o070 == 0o070 && mode & 0o007 == 0
    })
}

async fn open_postgres(options: PgConnectOptions, label: String) -> Result<Store, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(PG_CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Unavailable {
            store: label.clone(),
            reason: e.to_string(),
        })?;
    let store = Store {
        backend: Backend::Postgres(pool.clone()),
        label,
    };
    // A store already at this ondeck's schema is used as it is, so a role that may read and
    // write its tables but not create anything (an operator's, granted least privilege) opens
    // it: `CREATE … IF NOT EXISTS` needs the right to create even when there is nothing to.
    if schema_is_current(&pool).await {
        return Ok(store);
    }
    let create_schema = format!("CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}");
    if let Err(e) = sqlx::query(&create_schema).execute(&pool).await {
        // Two consoles starting at once can race on IF NOT EXISTS; the loser sees a unique
        // violation on the catalog, and the schema is there all the same.
        if !is_unique_violation(&e) {
            return Err(match store.error(e) {
                StoreError::Query { store, source } => StoreError::Migration {
                    store,
                    reason: format!("cannot create the schema {PG_SCHEMA}: {source}"),
                },
                unavailable => unavailable,
            });
        }
    }
    POSTGRES_MIGRATIONS
        .run(&pool)
        .await
        .map_err(|e| migration_error(&store.label, e))?;
    Ok(store)
}

/// Whether every migration of this ondeck is applied to the store, unchanged and complete, and
/// no other. Anything else — no schema yet, a migration missing, changed or failed, one from a
/// newer ondeck — goes to the migrator, which applies it or says why it cannot.
async fn schema_is_current(pool: &PgPool) -> bool {
    // Unqualified: the connection's search_path is the store's schema.
    let applied: Vec<(i64, Vec<u8>, bool)> = match sqlx::query_as(
        "SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(pool)
    .await
    {
        Ok(applied) => applied,
        Err(_) => return false,
    };
    let expected: Vec<_> = POSTGRES_MIGRATIONS
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .collect();
    applied.len() == expected.len()
        && applied
            .iter()
            .zip(expected)
            .all(|((version, checksum, success), migration)| {
                *success && *version == migration.version && **checksum == *migration.checksum
            })
}

fn migration_error(label: &str, err: sqlx::migrate::MigrateError) -> StoreError {
    StoreError::Migration {
        store: label.to_string(),
        reason: err.to_string(),
    }
}

/// `/home/alice/.local/share/ondeck/ondeck.db` → `~/.local/share/ondeck/ondeck.db`.
fn shorten_home(path: &Path) -> String {
    match home_dir().and_then(|home| path.strip_prefix(home).ok().map(Path::to_path_buf)) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_shortened_to_a_tilde() {
        let Some(home) = home_dir() else { return };
        let db = home.join(".local/share/ondeck/ondeck.db");
        assert_eq!(shorten_home(&db), "~/.local/share/ondeck/ondeck.db");
        assert_eq!(
            shorten_home(Path::new("/var/lib/ondeck.db")),
            "/var/lib/ondeck.db"
        );
    }

    #[test]
    fn final_states_are_the_ones_outside_the_busy_index() {
        let busy: Vec<_> = [
            ActionState::Requested,
            ActionState::Approved,
            ActionState::Denied,
            ActionState::Running,
            ActionState::Succeeded,
            ActionState::Failed,
            ActionState::Cancelled,
        ]
        .into_iter()
        .filter(|s| !s.is_final())
        .map(ActionState::as_str)
        .collect();
        assert_eq!(busy, ["REQUESTED", "APPROVED", "RUNNING"]);
        let migration = include_str!("../../migrations/sqlite/0001_init.sql");
        assert!(migration.contains("WHERE state IN ('REQUESTED', 'APPROVED', 'RUNNING')"));
        let migration = include_str!("../../migrations/postgres/0001_init.sql");
        assert!(migration.contains("WHERE state IN ('REQUESTED', 'APPROVED', 'RUNNING')"));
    }
}
