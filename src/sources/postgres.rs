//! The `postgres` source: the server's sessions from `pg_stat_activity`, its connection count
//! against `max_connections`, replication lag on a replica, and the team's own tables through
//! named queries (`[[source.query]]`) mapped onto hosts, jobs or audit rows.
//!
//! The pool is built on the first poll from the resolved `url` and connects lazily, so the
//! console never waits for (or fails because of) a database at startup, and a secret exported
//! after start is picked up. Its connections say `application_name = 'ondeck'`, which is how
//! ondeck leaves its own connections out of the Sessions pane (other operators' consoles
//! included: they are monitoring, not workload). During a poll, its transactions say
//! `ondeck req=<request id>` instead, as HTTP sources send `X-Request-ID`: the id on the host
//! row finds the poll's statements in the server's log (`%a` in `log_line_prefix`) and in
//! `pg_stat_activity`.
//!
//! Every statement runs in a read-only transaction with a `statement_timeout` just under the
//! source's timeout: a named query that writes by mistake is refused, and a slow one is
//! cancelled on the server instead of running on after ondeck gave up.
//!
//! Alerts: `HighDatabaseConnections` (the runbook's rule) is a warning above
//! `max_connections_warn` connections or `connections_warn_pct` percent of `max_connections`
//! (the lower, when both are set) and critical at 95 % of `max_connections`, where new clients
//! start being refused; `ReplicationLag` is a warning above `replication_lag_warn` on a replica.
//!
//! A named query that fails (a column renamed by a migration, a typo in the SQL) does not fail
//! the poll: the server's own rows and the other queries still show, and the failure is a
//! `PostgresQueryFailed` warning naming the query, with the error as its summary. Losing the
//! sessions and the connection count because one team table changed would hide exactly what
//! an operator needs while fixing it; the alert keeps the problem in view until then.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures_util::StreamExt;
use serde_json::json;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow, PgTypeInfo, PgTypeKind};
use sqlx::{Column, Executor, Postgres, Row, Statement, Transaction, TypeInfo, ValueRef};

use super::alerting::FirstSeen;
use super::local::round1;
use super::{Poller, SourceError};
use crate::config::transport::pg_connect_options;
use crate::config::{PgQuery, PostgresSource, QueryTarget, Secret, mask_url};
use crate::model::{
    AlertRow, AlertState, AuditRow, HostRow, HostStatus, JobRow, Observation, SessionRow, Severity,
    Truncated, host_fields,
};

pub const HIGH_DATABASE_CONNECTIONS: &str = "HighDatabaseConnections";
pub const REPLICATION_LAG: &str = "ReplicationLag";
pub const QUERY_FAILED: &str = "PostgresQueryFailed";
/// ondeck connects with a superuser role, whose named queries could change anything.
pub const SUPERUSER: &str = "PostgresSuperuser";

/// Set on every connection of the pool, and how ondeck recognises its own sessions.
pub const APPLICATION_NAME: &str = "ondeck";
/// A poll's transactions: [`APPLICATION_NAME`], then this, then the poll's request id.
const REQUEST_ID_TAG: &str = " req=";

/// Share of `max_connections` at which HighDatabaseConnections turns critical.
const CRITICAL_CONNECTION_SHARE: f64 = 0.95;
/// Less time than this left in a poll is not worth starting a named query with.
const MIN_QUERY_TIME: Duration = Duration::from_millis(50);

/// One poll needs one connection at a time; the second lets a slow named query not block the
/// next poll's statistics if the first connection is still being cleaned up.
const MAX_POOL_CONNECTIONS: u32 = 2;

const SERVER_SQL: &str = "\
SELECT current_setting('server_version') AS version,
       current_setting('max_connections')::int4 AS max_connections,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int4
           AS connections,
       pg_is_in_recovery() AS in_recovery,
       CASE WHEN current_setting('is_superuser') = 'on' THEN current_user::text END
           AS superuser_role,
       CASE WHEN NOT pg_is_in_recovery() THEN NULL
            -- Everything received is replayed: the replica is current however long ago the
            -- primary last wrote, so an idle primary does not look like lag.
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8
       END AS replication_lag_s";

const SESSIONS_SQL: &str = "\
SELECT pid, usename::text AS usename, datname::text AS datname, application_name,
       host(client_addr) AS client_addr, backend_start, query_start, state,
       wait_event_type, wait_event
  FROM pg_stat_activity
 WHERE backend_type = 'client backend'
   AND pid <> pg_backend_pid()
   AND application_name IS DISTINCT FROM $1
   AND coalesce(application_name, '') NOT LIKE $2
 ORDER BY backend_start";

/// Polls one PostgreSQL server.
#[derive(Debug)]
pub struct PostgresPoller {
    source: String,
    spec: PostgresSource,
    every: Duration,
    /// How long one connection attempt or one statement may take.
    budget: Duration,
    /// Built on the first poll; `None` until then.
    database: Option<Database>,
    first_seen: FirstSeen,
    /// Whether the server has answered a poll yet (see [`Poller::unanswered`]).
    answered: bool,
}

#[derive(Debug)]
struct Database {
    pool: PgPool,
    /// The URL with any password masked, for messages.
    shown: String,
}

impl PostgresPoller {
    pub fn new(source: &str, spec: PostgresSource, every: Duration, timeout: Duration) -> Self {
        PostgresPoller {
            source: source.to_owned(),
            spec,
            every,
            // A little under the source's timeout, so that a refused connection or a slow
            // statement is reported as what it is rather than as the supervisor's bare timeout.
            budget: timeout.mul_f64(0.9).max(Duration::from_millis(100)),
            database: None,
            first_seen: FirstSeen::default(),
            answered: false,
        }
    }

    /// The pool, built on first use; a failure (an unset secret) is retried at the next poll.
    fn database(&mut self) -> Result<&Database, SourceError> {
        Ok(match &mut self.database {
            Some(database) => database,
            empty @ None => empty.insert(connect_lazily(
                &self.spec.url,
                self.spec.ca_file.as_deref(),
                self.budget,
            )?),
        })
    }
}

/// A pool that connects on first use, so building it never waits for the server. TLS is
/// `verify-full` off this machine unless the URL says otherwise
/// ([`crate::config::PgTransport`]).
fn connect_lazily(
    url: &Secret,
    ca_file: Option<&Path>,
    budget: Duration,
) -> Result<Database, SourceError> {
    let resolved = url
        .resolve()
        .map_err(|e| SourceError::Setup(e.to_string()))?;
    let shown = mask_url(&resolved);
    let options = pg_connect_options(&resolved, ca_file)
        .map_err(|e| {
            SourceError::Setup(format!(
                "the PostgreSQL URL ({url}) is not usable: {}",
                one_line(&e.to_string())
            ))
        })?
        .application_name(APPLICATION_NAME);
    let pool = PgPoolOptions::new()
        .max_connections(MAX_POOL_CONNECTIONS)
        .acquire_timeout(budget)
        .connect_lazy_with(options);
    Ok(Database { pool, shown })
}

impl Poller for PostgresPoller {
    async fn poll(&mut self) -> Result<Observation, SourceError> {
        let budget = self.budget;
        // One budget for the whole poll, not one per statement: two slow named queries must not
        // add up past the supervisor's timeout and take the server's rows down with them.
        let deadline = Instant::now() + budget;
        let database = self.database()?;
        let pool = database.pool.clone();
        let shown = database.shown.clone();
        let failed = |error: sqlx::Error| database_error(&shown, budget, error);
        let request_id = uuid::Uuid::new_v4().to_string();

        let mut tx = read_only(&pool, budget, &request_id)
            .await
            .map_err(failed)?;
        let started = Instant::now();
        let server = read_server(&mut tx).await.map_err(failed)?;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let sessions = read_sessions(&mut tx).await.map_err(failed)?;
        tx.rollback().await.map_err(failed)?;

        let now = Utc::now();
        let mut alerts = server_alerts(&server, &self.spec, &self.source, now);
        let mut observation = Observation {
            sessions: sessions
                .into_iter()
                .map(|s| s.into_row(&self.source, now))
                .collect(),
            ..Observation::default()
        };
        let context = MapContext {
            source: &self.source,
            every: self.every,
            now,
        };
        let mut failed_queries = Vec::new();
        for query in &self.spec.queries {
            let outcome = match run_query_by(&pool, query, deadline, &request_id).await {
                Ok(result) => {
                    if result.truncated {
                        observation.truncated.push(Truncated {
                            query: query.name.clone(),
                            pane: query.maps_to.name().to_owned(),
                            max_rows: query.max_rows,
                        });
                    }
                    map_result(query, &result, &context)
                }
                Err(error) => Err(error),
            };
            match outcome {
                Ok(mapped) => {
                    observation.hosts.extend(mapped.hosts);
                    observation.jobs.extend(mapped.jobs);
                    observation.audit.extend(mapped.audit);
                }
                Err(error) => {
                    failed_queries.push(query.name.clone());
                    alerts.push(query_failed_alert(&self.source, &query.name, &error, now));
                }
            }
        }
        self.first_seen.stamp(&mut alerts, now);

        let mut host = server_host(&server, &self.source, latency_ms, &alerts, now);
        host.fields.insert("request_id".into(), json!(request_id));
        if !observation.truncated.is_empty() {
            let names: Vec<&str> = observation
                .truncated
                .iter()
                .map(|cut| cut.query.as_str())
                .collect();
            host.fields.insert("truncated_queries".into(), json!(names));
        }
        if !failed_queries.is_empty() {
            host.fields
                .insert("failed_queries".into(), json!(failed_queries));
        }
        observation.hosts.insert(0, host);
        observation.alerts = alerts;
        self.answered = true;
        Ok(observation)
    }

    /// Until the server first answers, its row says it is down and why; afterwards the last
    /// rows (a named query's thousands of hosts among them) stay and turn stale.
    fn unanswered(&mut self, error: &SourceError, now: DateTime<Utc>) -> Option<Observation> {
        if self.answered || matches!(error, SourceError::Setup(_)) {
            return None;
        }
        let host = HostRow {
            fields: BTreeMap::from([(host_fields::REASON.to_owned(), json!(error.to_string()))]),
            ..HostRow::checked(
                &self.source,
                &self.source,
                "postgres",
                HostStatus::Down,
                now,
            )
        };
        Some(Observation {
            hosts: vec![host],
            ..Observation::default()
        })
    }
}

/// A read-only transaction whose statements are cancelled by the server after `budget`, and
/// that names the poll's `request_id` in its `application_name`.
async fn read_only(
    pool: &PgPool,
    budget: Duration,
    request_id: &str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    tx.execute("SET TRANSACTION READ ONLY").await?;
    // SET takes no bind parameters; the number and the id (a UUID) are ours, not the user's.
    tx.execute(
        format!(
            "SET LOCAL statement_timeout = {}; \
             SET LOCAL application_name = '{APPLICATION_NAME}{REQUEST_ID_TAG}{request_id}'",
            budget.as_millis().max(1)
        )
        .as_str(),
    )
    .await?;
    Ok(tx)
}

/// A connection-level failure as one line naming the server (password masked).
fn database_error(shown: &str, budget: Duration, error: sqlx::Error) -> SourceError {
    let reason = match &error {
        // The pool retries a refused connection until its timeout, so the refusal itself is
        // lost; say what it usually means.
        sqlx::Error::PoolTimedOut => format!(
            "no connection within {} (server down, refusing connections or unreachable)",
            humantime::format_duration(budget)
        ),
        // sqlx reports a refused certificate as an I/O error.
        sqlx::Error::Io(io) if super::fetch::as_or_wrapping_rustls(io).is_some() => {
            format!("TLS failed: {io}")
        }
        sqlx::Error::Io(io) => format!("cannot connect: {io}"),
        sqlx::Error::Tls(tls) => format!("TLS failed: {tls}"),
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    };
    SourceError::Database {
        target: shown.to_owned(),
        reason: one_line(&reason),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the server says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerStats {
    pub version: String,
    pub max_connections: i32,
    /// Client connections, ondeck's own included (the runbook's rule counts them all).
    pub connections: i32,
    pub in_recovery: bool,
    /// On a replica: seconds behind the primary.
    pub replication_lag_s: Option<f64>,
    /// The role ondeck's session runs as, when it is a superuser.
    pub superuser_role: Option<String>,
}

async fn read_server(tx: &mut Transaction<'static, Postgres>) -> Result<ServerStats, sqlx::Error> {
    let row = sqlx::query(SERVER_SQL).fetch_one(&mut **tx).await?;
    Ok(ServerStats {
        version: row.try_get("version")?,
        max_connections: row.try_get("max_connections")?,
        connections: row.try_get("connections")?,
        in_recovery: row.try_get("in_recovery")?,
        replication_lag_s: row.try_get("replication_lag_s")?,
        superuser_role: row.try_get("superuser_role")?,
    })
}

/// One row of `pg_stat_activity`.
#[derive(Debug, Clone, PartialEq)]
struct Backend {
    pid: i32,
    user: Option<String>,
    database: Option<String>,
    application: Option<String>,
    client_addr: Option<String>,
    backend_start: Option<DateTime<Utc>>,
    query_start: Option<DateTime<Utc>>,
    state: Option<String>,
    wait_event_type: Option<String>,
    wait_event: Option<String>,
}

impl Backend {
    fn from_row(row: &PgRow) -> Result<Backend, sqlx::Error> {
        Ok(Backend {
            pid: row.try_get("pid")?,
            user: row.try_get("usename")?,
            database: row.try_get("datname")?,
            application: row.try_get("application_name")?,
            client_addr: row.try_get("client_addr")?,
            backend_start: row.try_get("backend_start")?,
            query_start: row.try_get("query_start")?,
            state: row.try_get("state")?,
            wait_event_type: row.try_get("wait_event_type")?,
            wait_event: row.try_get("wait_event")?,
        })
    }

    /// `waits Lock:transactionid · db certhub · app certhub-api`: what it is blocked on, in
    /// which database, for which application, the questions of a database on fire, the most
    /// urgent first so a narrow column still shows it.
    fn detail(&self) -> String {
        let given = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        // An idle session always waits for its client (Client:ClientRead): not news.
        let idle = self.state.as_deref().is_some_and(|s| s.starts_with("idle"));
        let wait = given(&self.wait_event).filter(|_| !idle);
        let wait = wait.map(|event| match given(&self.wait_event_type) {
            Some(kind) => format!("waits {kind}:{event}"),
            None => format!("waits {event}"),
        });
        SessionRow::detail_of([
            wait,
            given(&self.database).map(|db| format!("db {db}")),
            given(&self.application).map(|app| format!("app {app}")),
        ])
    }

    fn into_row(self, source: &str, now: DateTime<Utc>) -> SessionRow {
        let detail = self.detail();
        let mut fields = BTreeMap::from([("pid".to_owned(), json!(self.pid))]);
        let optional = [
            ("datname", self.database),
            (
                "application_name",
                self.application.filter(|a| !a.is_empty()),
            ),
            ("wait_event_type", self.wait_event_type),
            ("wait_event", self.wait_event),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                fields.insert(key.to_owned(), json!(value));
            }
        }
        SessionRow {
            source: source.to_owned(),
            user: self.user.unwrap_or_else(|| "unknown".to_owned()),
            // No address means a Unix-domain socket on the server itself.
            client: self
                .client_addr
                .unwrap_or_else(|| "local socket".to_owned()),
            state: self.state.unwrap_or_else(|| "unknown".to_owned()),
            since: self.backend_start.or(self.query_start),
            detail,
            observed_at: now,
            fields,
        }
    }
}

async fn read_sessions(
    tx: &mut Transaction<'static, Postgres>,
) -> Result<Vec<Backend>, sqlx::Error> {
    let rows = sqlx::query(SESSIONS_SQL)
        .bind(APPLICATION_NAME)
        .bind(format!("{APPLICATION_NAME}{REQUEST_ID_TAG}%"))
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(Backend::from_row).collect()
}

/// The threshold rules over the server's statistics. Pure, so they can be checked without a
/// server; `since` is `now` until [`FirstSeen`] remembers better.
pub fn server_alerts(
    stats: &ServerStats,
    spec: &PostgresSource,
    source: &str,
    now: DateTime<Utc>,
) -> Vec<AlertRow> {
    let alert = |name: &str, severity: Severity, summary: String| {
        AlertRow::raised(source, name, severity, source, summary, now)
    };
    let mut alerts = Vec::new();

    let critical_at = (f64::from(stats.max_connections) * CRITICAL_CONNECTION_SHARE).ceil();
    let critical = stats.max_connections > 0 && f64::from(stats.connections) >= critical_at;
    let warn_at_share = spec
        .connections_warn_pct
        .map(|pct| f64::from(stats.max_connections) * pct / 100.0);
    let warn_above = [spec.max_connections_warn.map(f64::from), warn_at_share]
        .into_iter()
        .flatten()
        .reduce(f64::min);
    let warning = warn_above.is_some_and(|warn| f64::from(stats.connections) > warn);
    if critical || warning {
        let limit = warn_above.map_or_else(String::new, |warn| format!(", warn above {warn:.0}"));
        alerts.push(alert(
            HIGH_DATABASE_CONNECTIONS,
            if critical {
                Severity::Critical
            } else {
                Severity::Warning
            },
            format!(
                "{} connections of {} allowed{limit}",
                stats.connections, stats.max_connections
            ),
        ));
    }

    if let (true, Some(lag), Some(warn)) = (
        stats.in_recovery,
        stats.replication_lag_s,
        spec.replication_lag_warn,
    ) && lag > warn.as_secs_f64()
    {
        alerts.push(alert(
            REPLICATION_LAG,
            Severity::Warning,
            format!(
                "replica {lag:.0}s behind the primary (warn above {})",
                humantime::format_duration(warn)
            ),
        ));
    }
    if let Some(role) = &stats.superuser_role {
        // Read-only transactions stop writes, not functions with side effects
        // (`pg_terminate_backend`, `pg_reload_conf`), which a superuser may call.
        alerts.push(alert(
            SUPERUSER,
            Severity::Warning,
            format!(
                "ondeck connects as `{role}`, a superuser: its named queries could call any function; connect as a monitoring role (pg_monitor and SELECT on the queried tables)"
            ),
        ));
    }
    alerts
}

fn query_failed_alert(
    source: &str,
    query: &str,
    error: &QueryError,
    now: DateTime<Utc>,
) -> AlertRow {
    AlertRow::raised(
        source,
        QUERY_FAILED,
        Severity::Warning,
        format!("{source}:{query}"),
        error.to_string(),
        now,
    )
}

/// The Hosts pane row for the server: degraded while one of its own alerts fires (a failing
/// named query is a problem of the query, not of the server).
pub fn server_host(
    stats: &ServerStats,
    source: &str,
    latency_ms: u64,
    alerts: &[AlertRow],
    now: DateTime<Utc>,
) -> HostRow {
    let degraded = alerts.iter().any(|a| {
        a.state == AlertState::Firing && ![QUERY_FAILED, SUPERUSER].contains(&a.name.as_str())
    });
    let connections_pct = (stats.max_connections > 0)
        .then(|| round1(f64::from(stats.connections) / f64::from(stats.max_connections) * 100.0));
    let mut fields = BTreeMap::from([
        ("connections".to_owned(), json!(stats.connections)),
        ("max_connections".to_owned(), json!(stats.max_connections)),
        ("connections_pct".to_owned(), json!(connections_pct)),
        ("in_recovery".to_owned(), json!(stats.in_recovery)),
        ("latency_ms".to_owned(), json!(latency_ms)),
    ]);
    if let Some(lag) = stats.replication_lag_s {
        fields.insert("replication_lag_s".to_owned(), json!(round1(lag)));
    }
    let status = if degraded {
        HostStatus::Degraded
    } else {
        HostStatus::Up
    };
    HostRow {
        latency_ms: Some(latency_ms),
        version: Some(stats.version.clone()),
        fields,
        ..HostRow::checked(source, source, "postgres", status, now)
    }
}

/// One value of a named query's result, decoded by its PostgreSQL type.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `timestamptz`; a `timestamp` or `date` without zone is read as UTC.
    Time(DateTime<Utc>),
    Json(serde_json::Value),
    /// A type ondeck cannot show (numeric, arrays, …); only an error if a row field needs it.
    Unsupported(String),
}

impl Cell {
    /// The value as text, for the string fields of a row; `None` for NULL or unsupported.
    fn text(&self) -> Option<String> {
        Some(match self {
            Cell::Null | Cell::Unsupported(_) => return None,
            Cell::Text(text) => text.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(x) => x.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Time(t) => t.to_rfc3339(),
            Cell::Json(value) => value.to_string(),
        })
    }

    /// The value for a row's extra fields; unsupported types are left out.
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Cell::Unsupported(_) => return None,
            Cell::Null => serde_json::Value::Null,
            Cell::Text(text) => json!(text),
            Cell::Int(n) => json!(n),
            Cell::Float(x) => json!(x),
            Cell::Bool(b) => json!(b),
            Cell::Time(t) => json!(t.to_rfc3339()),
            Cell::Json(value) => value.clone(),
        })
    }

    /// How the value is described in an error.
    fn describe(&self) -> String {
        match self {
            Cell::Null => "NULL".to_owned(),
            Cell::Text(text) => format!("the text {text:?}"),
            Cell::Int(n) => format!("the integer {n}"),
            Cell::Float(x) => format!("the number {x}"),
            Cell::Bool(b) => format!("the boolean {b}"),
            Cell::Time(t) => format!("the time {}", t.to_rfc3339()),
            Cell::Json(_) => "a JSON value".to_owned(),
            Cell::Unsupported(type_name) => format!("a value of type {type_name}"),
        }
    }
}

/// A named query's answer: column names and decoded rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    /// PostgreSQL type of each column, for error messages.
    pub types: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// More rows than the query's `max_rows` were returned; the rest were not read.
    pub truncated: bool,
}

/// Why a named query gave no rows. Each message names the query, and the column where one is
/// at fault, and says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("query `{query}` failed: {reason}")]
    Failed { query: String, reason: String },
    #[error(
        "query `{query}`: its result has no column `{column}` for the {target} field `{field}` (it has: {available}); fix the SQL or `columns.{field}`"
    )]
    MissingColumn {
        query: String,
        target: &'static str,
        field: &'static str,
        column: String,
        available: String,
    },
    #[error(
        "query `{query}`: column `{column}` has type {type_name}, which cannot be used as `{field}`; cast it in the SQL (e.g. `{column}::{cast}`)"
    )]
    UnusableType {
        query: String,
        column: String,
        type_name: String,
        field: &'static str,
        cast: &'static str,
    },
    #[error(
        "query `{query}`: column `{column}` holds {found} in row {row}, but `{field}` needs {expected}"
    )]
    WrongValue {
        query: String,
        column: String,
        row: usize,
        field: &'static str,
        found: String,
        expected: &'static str,
    },
}

/// Runs one named query in its own read-only transaction and decodes its rows.
/// [`run_query`] in what is left of the poll's budget; a query left less than
/// [`MIN_QUERY_TIME`] is not started.
async fn run_query_by(
    pool: &PgPool,
    query: &PgQuery,
    deadline: Instant,
    request_id: &str,
) -> Result<ResultSet, QueryError> {
    let out_of_time = |reason: String| QueryError::Failed {
        query: query.name.clone(),
        reason,
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining < MIN_QUERY_TIME {
        return Err(out_of_time(
            "not run: the poll's time was used up by the statements before it".to_owned(),
        ));
    }
    // The server cancels a slow statement at `remaining`; this also bounds waiting for a pooled
    // connection and the round trips around the statement.
    tokio::time::timeout(remaining, run_query(pool, query, remaining, request_id))
        .await
        .unwrap_or_else(|_elapsed| {
            Err(out_of_time(format!(
                "cancelled after {} ms, the rest of the poll's time",
                remaining.as_millis()
            )))
        })
}

async fn run_query(
    pool: &PgPool,
    query: &PgQuery,
    budget: Duration,
    request_id: &str,
) -> Result<ResultSet, QueryError> {
    let failed = |error: sqlx::Error| QueryError::Failed {
        query: query.name.clone(),
        reason: one_line(&match &error {
            sqlx::Error::Database(db) => db.message().to_owned(),
            other => other.to_string(),
        }),
    };
    let mut tx = read_only(pool, budget, request_id).await.map_err(failed)?;
    // Preparing first gives the columns even when no row comes back, so a wrong mapping is
    // reported on an empty table too.
    let statement = (&mut *tx)
        .prepare(query.sql.as_str())
        .await
        .map_err(failed)?;
    let mut result = ResultSet {
        columns: statement
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect(),
        types: statement
            .columns()
            .iter()
            .map(|c| c.type_info().name().to_owned())
            .collect(),
        ..ResultSet::default()
    };
    {
        let mut rows = statement.query().fetch(&mut *tx);
        while let Some(row) = rows.next().await {
            let row = row.map_err(failed)?;
            if result.rows.len() == query.max_rows {
                result.truncated = true;
                break;
            }
            result.rows.push(decode_row(&row).map_err(failed)?);
        }
    }
    tx.rollback().await.map_err(failed)?;
    Ok(result)
}

fn decode_row(row: &PgRow) -> Result<Vec<Cell>, sqlx::Error> {
    (0..row.columns().len())
        .map(|index| decode_cell(row, index))
        .collect()
}

/// Decodes one value by its column's type. Types without a sensible display become
/// [`Cell::Unsupported`], which only matters if a row field is mapped to them.
fn decode_cell(row: &PgRow, index: usize) -> Result<Cell, sqlx::Error> {
    if row.try_get_raw(index)?.is_null() {
        return Ok(Cell::Null);
    }
    let type_info: &PgTypeInfo = row.columns()[index].type_info();
    Ok(match type_info.name() {
        "BOOL" => Cell::Bool(row.try_get(index)?),
        "INT2" => Cell::Int(row.try_get::<i16, _>(index)?.into()),
        "INT4" => Cell::Int(row.try_get::<i32, _>(index)?.into()),
        "INT8" => Cell::Int(row.try_get(index)?),
        "FLOAT4" => Cell::Float(row.try_get::<f32, _>(index)?.into()),
        "FLOAT8" => Cell::Float(row.try_get(index)?),
        "TIMESTAMPTZ" => Cell::Time(row.try_get(index)?),
        "TIMESTAMP" => Cell::Time(row.try_get::<NaiveDateTime, _>(index)?.and_utc()),
        "DATE" => Cell::Time(
            row.try_get::<NaiveDate, _>(index)?
                .and_time(chrono::NaiveTime::MIN)
                .and_utc(),
        ),
        "JSON" | "JSONB" => Cell::Json(row.try_get(index)?),
        "UUID" => Cell::Text(row.try_get::<uuid::Uuid, _>(index)?.to_string()),
        // An enum (how ORMs often store a status) and a domain over text travel as their
        // text, which sqlx's type check does not know; everything else must be text to sqlx.
        other => match type_info.kind() {
            PgTypeKind::Enum(_) => Cell::Text(row.try_get_unchecked(index)?),
            PgTypeKind::Domain(base)
                if matches!(base.name(), "TEXT" | "VARCHAR" | "BPCHAR" | "NAME") =>
            {
                Cell::Text(row.try_get_unchecked(index)?)
            }
            _ => match row.try_get::<String, _>(index) {
                Ok(text) => Cell::Text(text),
                Err(_) => Cell::Unsupported(other.to_owned()),
            },
        },
    })
}

/// What the rows of a named query are mapped with besides the query itself.
#[derive(Debug, Clone, Copy)]
pub struct MapContext<'a> {
    pub source: &'a str,
    /// The source's poll interval: without `down_after`, a host whose `last_seen` is older
    /// than twice this is stale, the rule every row follows.
    pub every: Duration,
    pub now: DateTime<Utc>,
}

/// The rows one named query contributes, in the pane its `maps_to` names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapped {
    pub hosts: Vec<HostRow>,
    pub jobs: Vec<JobRow>,
    pub audit: Vec<AuditRow>,
}

/// Maps a result onto rows. A row field reads the column `columns.<field>` names, or else the
/// column named like the field; result columns no field reads become a host's extra fields
/// or, for audit rows without a `detail` column, the detail (`column=value; …`). Job rows
/// have no place for them.
pub fn map_result(
    query: &PgQuery,
    result: &ResultSet,
    context: &MapContext<'_>,
) -> Result<Mapped, QueryError> {
    let mut columns = Columns::new(query, result);
    let mut mapped = Mapped::default();
    match query.maps_to {
        QueryTarget::Hosts => {
            let fields = HostColumns::find(&mut columns)?;
            let extras = columns.unused();
            for (index, row) in result.rows.iter().enumerate() {
                mapped
                    .hosts
                    .push(fields.row(&columns, row, index + 1, &extras, context)?);
            }
        }
        QueryTarget::Jobs => {
            let fields = JobColumns::find(&mut columns)?;
            for (index, row) in result.rows.iter().enumerate() {
                mapped
                    .jobs
                    .push(fields.row(&columns, row, index + 1, context)?);
            }
        }
        QueryTarget::Audit => {
            let fields = AuditColumns::find(&mut columns)?;
            let extras = columns.unused();
            for (index, row) in result.rows.iter().enumerate() {
                mapped
                    .audit
                    .push(fields.row(&columns, row, index + 1, &extras, context)?);
            }
        }
    }
    Ok(mapped)
}

/// Finds the result column of each row field and reads typed values from rows, with errors
/// that name the query, the column and the row.
struct Columns<'a> {
    query: &'a PgQuery,
    result: &'a ResultSet,
    used: Vec<bool>,
}

/// Where a row field is read from: the field's name and its column's position.
#[derive(Debug, Clone, Copy)]
struct Field {
    name: &'static str,
    index: usize,
}

/// What a field needs, for decoding and for the cast an error suggests.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Text,
    Number,
    Time,
    Status,
}

impl Want {
    fn cast(self) -> &'static str {
        match self {
            Want::Text | Want::Status => "text",
            Want::Number => "float8",
            Want::Time => "timestamptz",
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Want::Text => "a value",
            Want::Number => "a number",
            Want::Time => "a timestamp (timestamptz, or text in RFC 3339)",
            Want::Status => "a status (up, down, degraded, …) or a boolean",
        }
    }
}

impl<'a> Columns<'a> {
    fn new(query: &'a PgQuery, result: &'a ResultSet) -> Self {
        Columns {
            query,
            result,
            used: vec![false; result.columns.len()],
        }
    }

    /// The column for `field`: an explicit mapping must exist; an implicit one may not.
    fn find(&mut self, field: &'static str, want: Want) -> Result<Option<Field>, QueryError> {
        let mapped = self.query.columns.get(field);
        let column = mapped.map_or(field, String::as_str);
        let Some(index) = self.result.columns.iter().position(|c| c == column) else {
            return match mapped {
                Some(column) => Err(self.missing(field, column)),
                None => Ok(None),
            };
        };
        self.used[index] = true;
        let type_name = self.result.types.get(index).map_or("", String::as_str);
        if !type_usable(type_name, want) {
            return Err(QueryError::UnusableType {
                query: self.query.name.clone(),
                column: column.to_owned(),
                type_name: type_name.to_owned(),
                field,
                cast: want.cast(),
            });
        }
        Ok(Some(Field { name: field, index }))
    }

    fn require(&mut self, field: &'static str, want: Want) -> Result<Field, QueryError> {
        match self.find(field, want)? {
            Some(found) => Ok(found),
            None => Err(self.missing(field, field)),
        }
    }

    fn missing(&self, field: &'static str, column: &str) -> QueryError {
        QueryError::MissingColumn {
            query: self.query.name.clone(),
            target: self.query.maps_to.name(),
            field,
            column: column.to_owned(),
            available: if self.result.columns.is_empty() {
                "no columns".to_owned()
            } else {
                self.result.columns.join(", ")
            },
        }
    }

    /// Columns no field reads, in result order.
    fn unused(&self) -> Vec<usize> {
        (0..self.used.len()).filter(|&i| !self.used[i]).collect()
    }

    fn name(&self, index: usize) -> &str {
        &self.result.columns[index]
    }

    fn wrong(&self, field: Field, row: usize, cell: &Cell, want: Want) -> QueryError {
        QueryError::WrongValue {
            query: self.query.name.clone(),
            column: self.name(field.index).to_owned(),
            row,
            field: field.name,
            found: cell.describe(),
            expected: want.expected(),
        }
    }

    fn cell<'r>(&self, row: &'r [Cell], field: Field) -> &'r Cell {
        row.get(field.index).unwrap_or(&Cell::Null)
    }

    fn text(&self, row: &[Cell], field: Option<Field>) -> Option<String> {
        field.and_then(|f| self.cell(row, f).text())
    }

    fn required_text(
        &self,
        row: &[Cell],
        number: usize,
        field: Field,
    ) -> Result<String, QueryError> {
        let cell = self.cell(row, field);
        cell.text()
            .ok_or_else(|| self.wrong(field, number, cell, Want::Text))
    }

    fn number(
        &self,
        row: &[Cell],
        number: usize,
        field: Option<Field>,
    ) -> Result<Option<f64>, QueryError> {
        let Some(field) = field else { return Ok(None) };
        let cell = self.cell(row, field);
        match cell {
            Cell::Null => Ok(None),
            Cell::Int(n) => Ok(Some(*n as f64)),
            Cell::Float(x) if x.is_finite() => Ok(Some(*x)),
            Cell::Text(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| self.wrong(field, number, cell, Want::Number)),
            _ => Err(self.wrong(field, number, cell, Want::Number)),
        }
    }

    fn time(
        &self,
        row: &[Cell],
        number: usize,
        field: Option<Field>,
    ) -> Result<Option<DateTime<Utc>>, QueryError> {
        let Some(field) = field else { return Ok(None) };
        let cell = self.cell(row, field);
        match cell {
            Cell::Null => Ok(None),
            Cell::Time(t) => Ok(Some(*t)),
            Cell::Text(text) => DateTime::parse_from_rfc3339(text.trim())
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| self.wrong(field, number, cell, Want::Time)),
            _ => Err(self.wrong(field, number, cell, Want::Time)),
        }
    }

    fn required_time(
        &self,
        row: &[Cell],
        number: usize,
        field: Field,
    ) -> Result<DateTime<Utc>, QueryError> {
        self.time(row, number, Some(field))?
            .ok_or_else(|| self.wrong(field, number, self.cell(row, field), Want::Time))
    }

    fn status(
        &self,
        row: &[Cell],
        number: usize,
        field: Field,
    ) -> Result<Option<HostStatus>, QueryError> {
        let cell = self.cell(row, field);
        match cell {
            Cell::Null => Ok(None),
            Cell::Bool(true) => Ok(Some(HostStatus::Up)),
            Cell::Bool(false) => Ok(Some(HostStatus::Down)),
            Cell::Text(text) => Ok(Some(parse_status(text))),
            _ => Err(self.wrong(field, number, cell, Want::Status)),
        }
    }
}

/// Whether a column of PostgreSQL type `type_name` can feed a field that wants `want`. Values
/// are checked again per row (text must parse).
fn type_usable(type_name: &str, want: Want) -> bool {
    const NUMBERS: [&str; 5] = ["INT2", "INT4", "INT8", "FLOAT4", "FLOAT8"];
    const TIMES: [&str; 3] = ["TIMESTAMPTZ", "TIMESTAMP", "DATE"];
    const UNUSABLE: [&str; 4] = ["NUMERIC", "BYTEA", "INTERVAL", "MONEY"];
    let text_like = !NUMBERS.contains(&type_name)
        && !TIMES.contains(&type_name)
        && !matches!(type_name, "BOOL" | "JSON" | "JSONB" | "UUID")
        && !UNUSABLE.contains(&type_name)
        && !type_name.ends_with("[]");
    match want {
        Want::Text => !UNUSABLE.contains(&type_name) && !type_name.ends_with("[]"),
        Want::Number => NUMBERS.contains(&type_name) || text_like,
        Want::Time => TIMES.contains(&type_name) || text_like,
        Want::Status => type_name == "BOOL" || text_like,
    }
}

/// A status as a team's table may spell it.
pub fn parse_status(text: &str) -> HostStatus {
    match text.trim().to_ascii_lowercase().as_str() {
        "up" | "ok" | "online" | "running" | "healthy" | "active" | "true" => HostStatus::Up,
        "down" | "offline" | "stopped" | "failed" | "dead" | "unreachable" | "false" => {
            HostStatus::Down
        }
        "degraded" | "warning" | "warn" => HostStatus::Degraded,
        "stale" => HostStatus::Stale,
        _ => HostStatus::Unknown,
    }
}

/// The status of a host known only by its last heartbeat.
fn heartbeat_status(
    last_seen: Option<DateTime<Utc>>,
    down_after: Option<Duration>,
    context: &MapContext<'_>,
) -> HostStatus {
    let Some(last_seen) = last_seen else {
        return HostStatus::Unknown;
    };
    let age = (context.now - last_seen).to_std().unwrap_or(Duration::ZERO);
    match down_after {
        Some(limit) if age > limit => HostStatus::Down,
        None if age > context.every.saturating_mul(2) => HostStatus::Stale,
        _ => HostStatus::Up,
    }
}

struct HostColumns {
    name: Field,
    kind: Option<Field>,
    status: Option<Field>,
    version: Option<Field>,
    latency_ms: Option<Field>,
    cpu_pct: Option<Field>,
    mem_pct: Option<Field>,
    disk_pct: Option<Field>,
    last_seen: Option<Field>,
}

impl HostColumns {
    fn find(columns: &mut Columns<'_>) -> Result<HostColumns, QueryError> {
        Ok(HostColumns {
            name: columns.require("name", Want::Text)?,
            kind: columns.find("kind", Want::Text)?,
            status: columns.find("status", Want::Status)?,
            version: columns.find("version", Want::Text)?,
            latency_ms: columns.find("latency_ms", Want::Number)?,
            cpu_pct: columns.find("cpu_pct", Want::Number)?,
            mem_pct: columns.find("mem_pct", Want::Number)?,
            disk_pct: columns.find("disk_pct", Want::Number)?,
            last_seen: columns.find("last_seen", Want::Time)?,
        })
    }

    fn row(
        &self,
        columns: &Columns<'_>,
        row: &[Cell],
        number: usize,
        extras: &[usize],
        context: &MapContext<'_>,
    ) -> Result<HostRow, QueryError> {
        let query = columns.query;
        let last_seen = columns.time(row, number, self.last_seen)?;
        let reported = match self.status {
            Some(field) => columns.status(row, number, field)?,
            None => None,
        };
        let status =
            reported.unwrap_or_else(|| heartbeat_status(last_seen, query.down_after, context));
        let mut fields: BTreeMap<String, serde_json::Value> = extras
            .iter()
            .filter_map(|&i| {
                let value = row.get(i)?.to_json()?;
                Some((columns.name(i).to_owned(), value))
            })
            .collect();
        if let (None, HostStatus::Down, Some(limit)) = (reported, status, query.down_after) {
            // The same words for every silent host, so they add up to one alert.
            let reason = format!(
                "no heartbeat for more than {}",
                humantime::format_duration(limit)
            );
            fields.insert(host_fields::REASON.into(), json!(reason));
        }
        if let Some(seen) = last_seen {
            fields.insert("last_seen".into(), json!(seen.to_rfc3339()));
            fields.insert(
                "last_seen_age_s".into(),
                json!((context.now - seen).num_seconds().max(0)),
            );
        }
        Ok(HostRow {
            source: context.source.to_owned(),
            name: columns.required_text(row, number, self.name)?,
            kind: columns
                .text(row, self.kind)
                .unwrap_or_else(|| query.name.clone()),
            status,
            latency_ms: columns
                .number(row, number, self.latency_ms)?
                .map(|ms| ms.max(0.0).round() as u64),
            cpu_pct: columns.number(row, number, self.cpu_pct)?,
            mem_pct: columns.number(row, number, self.mem_pct)?,
            disk_pct: columns.number(row, number, self.disk_pct)?,
            load1: None,
            uptime_s: None,
            version: columns.text(row, self.version),
            observed_at: context.now,
            fields,
        })
    }
}

struct JobColumns {
    id: Field,
    state: Field,
    action: Option<Field>,
    target: Option<Field>,
    operator: Option<Field>,
    progress: Option<Field>,
    started: Option<Field>,
    finished: Option<Field>,
}

impl JobColumns {
    fn find(columns: &mut Columns<'_>) -> Result<JobColumns, QueryError> {
        Ok(JobColumns {
            id: columns.require("id", Want::Text)?,
            state: columns.require("state", Want::Text)?,
            action: columns.find("action", Want::Text)?,
            target: columns.find("target", Want::Text)?,
            operator: columns.find("operator", Want::Text)?,
            progress: columns.find("progress", Want::Number)?,
            started: columns.find("started", Want::Time)?,
            finished: columns.find("finished", Want::Time)?,
        })
    }

    fn row(
        &self,
        columns: &Columns<'_>,
        row: &[Cell],
        number: usize,
        context: &MapContext<'_>,
    ) -> Result<JobRow, QueryError> {
        Ok(JobRow {
            source: context.source.to_owned(),
            id: columns.required_text(row, number, self.id)?,
            action: columns
                .text(row, self.action)
                .unwrap_or_else(|| columns.query.name.clone()),
            target: columns.text(row, self.target).unwrap_or_default(),
            operator: columns.text(row, self.operator).unwrap_or_default(),
            state: columns.required_text(row, number, self.state)?,
            // A table may keep progress as a share (0.4) or a percentage (40).
            progress: columns
                .number(row, number, self.progress)?
                .map(|p| if p > 1.0 { p / 100.0 } else { p }.clamp(0.0, 1.0)),
            started: columns.time(row, number, self.started)?,
            finished: columns.time(row, number, self.finished)?,
            observed_at: context.now,
        })
    }
}

struct AuditColumns {
    time: Field,
    action: Field,
    operator: Option<Field>,
    target: Option<Field>,
    outcome: Option<Field>,
    request_id: Option<Field>,
    detail: Option<Field>,
}

impl AuditColumns {
    fn find(columns: &mut Columns<'_>) -> Result<AuditColumns, QueryError> {
        Ok(AuditColumns {
            time: columns.require("time", Want::Time)?,
            action: columns.require("action", Want::Text)?,
            operator: columns.find("operator", Want::Text)?,
            target: columns.find("target", Want::Text)?,
            outcome: columns.find("outcome", Want::Text)?,
            request_id: columns.find("request_id", Want::Text)?,
            detail: columns.find("detail", Want::Text)?,
        })
    }

    /// `seq` is the row's position in the result: the team's table is not ondeck's hash chain.
    fn row(
        &self,
        columns: &Columns<'_>,
        row: &[Cell],
        number: usize,
        extras: &[usize],
        context: &MapContext<'_>,
    ) -> Result<AuditRow, QueryError> {
        let detail = match self.detail {
            Some(_) => columns.text(row, self.detail).unwrap_or_default(),
            None => extras
                .iter()
                .filter_map(|&i| Some(format!("{}={}", columns.name(i), row.get(i)?.text()?)))
                .collect::<Vec<_>>()
                .join("; "),
        };
        Ok(AuditRow {
            source: context.source.to_owned(),
            seq: i64::try_from(number).unwrap_or(i64::MAX),
            time: columns.required_time(row, number, self.time)?,
            operator: columns.text(row, self.operator).unwrap_or_default(),
            action: columns.required_text(row, number, self.action)?,
            target: columns.text(row, self.target).unwrap_or_default(),
            outcome: columns.text(row, self.outcome).unwrap_or_default(),
            request_id: columns.text(row, self.request_id).unwrap_or_default(),
            detail,
            identity: None,
            job_id: None,
            error: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(warn: Option<u32>, lag: Option<Duration>) -> PostgresSource {
        PostgresSource {
            url: Secret::Literal("postgres://ondeck@127.0.0.1/ondeck".into()),
            max_connections_warn: warn,
            connections_warn_pct: None,
            replication_lag_warn: lag,
            ca_file: None,
            queries: Vec::new(),
        }
    }

    fn stats(connections: i32, max: i32) -> ServerStats {
        ServerStats {
            version: "15.6".into(),
            max_connections: max,
            connections,
            in_recovery: false,
            replication_lag_s: None,
            superuser_role: None,
        }
    }

    #[test]
    fn a_superuser_session_is_a_warning_that_does_not_degrade_the_server() {
        let now = Utc::now();
        let superuser = ServerStats {
            superuser_role: Some("postgres".into()),
            ..stats(3, 100)
        };
        let alerts = server_alerts(&superuser, &spec(None, None), "pg", now);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].name, SUPERUSER);
        assert_eq!(alerts[0].severity, Severity::Warning);
        assert!(
            alerts[0].summary.contains("`postgres`"),
            "{}",
            alerts[0].summary
        );
        let host = server_host(&superuser, "pg", 1, &alerts, now);
        assert_eq!(host.status, HostStatus::Up);
        assert!(server_alerts(&stats(3, 100), &spec(None, None), "pg", now).is_empty());
    }

    #[test]
    fn connections_warn_above_the_configured_count_and_page_near_the_maximum() {
        let now = Utc::now();
        let spec = spec(Some(150), None);
        assert!(server_alerts(&stats(150, 200), &spec, "db", now).is_empty());
        let warn = server_alerts(&stats(151, 200), &spec, "db", now);
        assert_eq!(warn.len(), 1);
        assert_eq!(warn[0].name, HIGH_DATABASE_CONNECTIONS);
        assert_eq!(warn[0].severity, Severity::Warning);
        assert_eq!(warn[0].target, "db");
        assert!(warn[0].summary.contains("151 connections of 200"));
        let critical = server_alerts(&stats(190, 200), &spec, "db", now);
        assert_eq!(critical[0].severity, Severity::Critical);
        // Without a configured count, only running out of connections alerts.
        assert!(server_alerts(&stats(151, 200), &self::spec(None, None), "db", now).is_empty());
        assert_eq!(
            server_alerts(&stats(96, 100), &self::spec(None, None), "db", now)[0].severity,
            Severity::Critical
        );
    }

    #[test]
    fn connections_warn_above_a_share_of_the_maximum_and_the_lower_limit_wins() {
        let now = Utc::now();
        let mut spec = spec(None, None);
        spec.connections_warn_pct = Some(75.0);
        assert!(server_alerts(&stats(150, 200), &spec, "db", now).is_empty());
        let warn = server_alerts(&stats(151, 200), &spec, "db", now);
        assert_eq!(warn[0].severity, Severity::Warning);
        assert!(
            warn[0].summary.contains("warn above 150"),
            "{}",
            warn[0].summary
        );
        spec.max_connections_warn = Some(100);
        assert_eq!(server_alerts(&stats(101, 200), &spec, "db", now).len(), 1);
    }

    #[test]
    fn replication_lag_alerts_only_on_a_replica_past_the_limit() {
        let now = Utc::now();
        let spec = spec(None, Some(Duration::from_secs(30)));
        let mut replica = stats(5, 100);
        replica.in_recovery = true;
        replica.replication_lag_s = Some(12.0);
        assert!(server_alerts(&replica, &spec, "db", now).is_empty());
        replica.replication_lag_s = Some(45.0);
        let alerts = server_alerts(&replica, &spec, "db", now);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].name, REPLICATION_LAG);
        assert!(alerts[0].summary.contains("45s behind"));
    }

    #[test]
    fn the_server_row_is_degraded_by_its_own_alerts_only() {
        let now = Utc::now();
        let server = stats(151, 200);
        let alerts = server_alerts(&server, &spec(Some(150), None), "db", now);
        let host = server_host(&server, "db", 3, &alerts, now);
        assert_eq!(host.status, HostStatus::Degraded);
        assert_eq!(host.fields["connections_pct"], json!(75.5));
        assert_eq!(host.version.as_deref(), Some("15.6"));
        let failure = QueryError::Failed {
            query: "devices".into(),
            reason: "boom".into(),
        };
        let only_query = [query_failed_alert("db", "devices", &failure, now)];
        assert_eq!(
            server_host(&stats(1, 200), "db", 3, &only_query, now).status,
            HostStatus::Up
        );
    }

    fn query(maps_to: QueryTarget, columns: &[(&str, &str)]) -> PgQuery {
        PgQuery {
            name: "devices".into(),
            sql: "SELECT 1".into(),
            maps_to,
            columns: columns
                .iter()
                .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
                .collect(),
            down_after: None,
            max_rows: PgQuery::DEFAULT_MAX_ROWS,
        }
    }

    fn result(columns: &[(&str, &str)], rows: Vec<Vec<Cell>>) -> ResultSet {
        ResultSet {
            columns: columns.iter().map(|(c, _)| (*c).to_owned()).collect(),
            types: columns.iter().map(|(_, t)| (*t).to_owned()).collect(),
            rows,
            truncated: false,
        }
    }

    fn context(now: DateTime<Utc>) -> MapContext<'static> {
        MapContext {
            source: "hub-db",
            every: Duration::from_secs(30),
            now,
        }
    }

    #[test]
    fn heartbeats_decide_a_host_status_when_no_status_column_does() {
        let now = Utc::now();
        let mut devices = query(QueryTarget::Hosts, &[("last_seen", "last_heartbeat_at")]);
        let set = result(
            &[
                ("name", "TEXT"),
                ("last_heartbeat_at", "TIMESTAMPTZ"),
                ("domain", "TEXT"),
            ],
            vec![
                vec![
                    Cell::Text("PC-01".into()),
                    Cell::Time(now - chrono::Duration::seconds(20)),
                    Cell::Text("NETOCMS".into()),
                ],
                vec![
                    Cell::Text("PC-02".into()),
                    Cell::Time(now - chrono::Duration::minutes(20)),
                    Cell::Null,
                ],
                vec![Cell::Text("PC-03".into()), Cell::Null, Cell::Null],
            ],
        );
        let hosts = map_result(&devices, &set, &context(now)).unwrap().hosts;
        let statuses: Vec<HostStatus> = hosts.iter().map(|h| h.status).collect();
        assert_eq!(
            statuses,
            [HostStatus::Up, HostStatus::Stale, HostStatus::Unknown]
        );
        assert_eq!(
            hosts[0].kind, "devices",
            "the query name is the default kind"
        );
        assert_eq!(hosts[0].fields["domain"], json!("NETOCMS"));
        assert_eq!(hosts[1].fields["last_seen_age_s"], json!(1200));
        assert!(!hosts[0].fields.contains_key("last_heartbeat_at"));

        devices.down_after = Some(Duration::from_secs(600));
        let hosts = map_result(&devices, &set, &context(now)).unwrap().hosts;
        assert_eq!(hosts[1].status, HostStatus::Down);
        assert_eq!(hosts[0].status, HostStatus::Up);
    }

    #[test]
    fn a_status_column_wins_over_the_heartbeat() {
        let now = Utc::now();
        let set = result(
            &[("name", "TEXT"), ("status", "TEXT"), ("ok", "BOOL")],
            vec![vec![
                Cell::Text("a".into()),
                Cell::Text("OFFLINE".into()),
                Cell::Bool(true),
            ]],
        );
        let hosts = map_result(&query(QueryTarget::Hosts, &[]), &set, &context(now))
            .unwrap()
            .hosts;
        assert_eq!(hosts[0].status, HostStatus::Down);
        let by_bool = map_result(
            &query(QueryTarget::Hosts, &[("status", "ok")]),
            &set,
            &context(now),
        )
        .unwrap()
        .hosts;
        assert_eq!(by_bool[0].status, HostStatus::Up);
        assert_eq!(
            by_bool[0].fields["status"],
            json!("OFFLINE"),
            "unused column"
        );
    }

    #[test]
    fn job_rows_take_mapped_columns_and_normalise_progress() {
        let now = Utc::now();
        let jobs = query(
            QueryTarget::Jobs,
            &[("state", "status"), ("started", "created_at")],
        );
        let set = result(
            &[
                ("id", "UUID"),
                ("status", "TEXT"),
                ("created_at", "TIMESTAMPTZ"),
                ("progress", "INT4"),
            ],
            vec![vec![
                Cell::Text("7d5c".into()),
                Cell::Text("PENDING".into()),
                Cell::Time(now),
                Cell::Int(40),
            ]],
        );
        let rows = map_result(&jobs, &set, &context(now)).unwrap().jobs;
        assert_eq!(rows[0].id, "7d5c");
        assert_eq!(rows[0].state, "PENDING");
        assert_eq!(rows[0].action, "devices");
        assert_eq!(rows[0].progress, Some(0.4));
        assert_eq!(rows[0].started, Some(now));
    }

    #[test]
    fn audit_rows_without_a_detail_column_list_the_rest() {
        let now = Utc::now();
        let audit = query(QueryTarget::Audit, &[("time", "timestamp")]);
        let set = result(
            &[
                ("action", "TEXT"),
                ("timestamp", "TIMESTAMPTZ"),
                ("entity_id", "TEXT"),
                ("n", "INT4"),
            ],
            vec![vec![
                Cell::Text("CERT_REMOVED_18H".into()),
                Cell::Time(now),
                Cell::Text("e1".into()),
                Cell::Int(3),
            ]],
        );
        let rows = map_result(&audit, &set, &context(now)).unwrap().audit;
        assert_eq!(rows[0].action, "CERT_REMOVED_18H");
        assert_eq!(rows[0].detail, "entity_id=e1; n=3");
        assert_eq!(rows[0].seq, 1);
    }

    #[test]
    fn a_mapped_column_missing_from_the_result_names_query_field_and_columns() {
        let now = Utc::now();
        let devices = query(QueryTarget::Hosts, &[("last_seen", "last_heartbeat_at")]);
        let set = result(&[("name", "TEXT"), ("last_seen_at", "TIMESTAMPTZ")], vec![]);
        let error = map_result(&devices, &set, &context(now)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "query `devices`: its result has no column `last_heartbeat_at` for the hosts field \
             `last_seen` (it has: name, last_seen_at); fix the SQL or `columns.last_seen`"
        );
        let no_name = result(&[("hostname", "TEXT")], vec![]);
        let error = map_result(&query(QueryTarget::Hosts, &[]), &no_name, &context(now));
        assert!(matches!(
            error,
            Err(QueryError::MissingColumn { field: "name", .. })
        ));
    }

    #[test]
    fn unusable_types_and_values_are_named() {
        let now = Utc::now();
        let set = result(
            &[("name", "TEXT"), ("cpu_pct", "NUMERIC")],
            vec![vec![
                Cell::Text("a".into()),
                Cell::Unsupported("NUMERIC".into()),
            ]],
        );
        let error = map_result(&query(QueryTarget::Hosts, &[]), &set, &context(now)).unwrap_err();
        assert!(
            error.to_string().contains("`cpu_pct` has type NUMERIC")
                && error.to_string().contains("cpu_pct::float8"),
            "{error}"
        );
        let set = result(
            &[("name", "TEXT"), ("cpu_pct", "TEXT")],
            vec![vec![Cell::Text("a".into()), Cell::Text("busy".into())]],
        );
        let error = map_result(&query(QueryTarget::Hosts, &[]), &set, &context(now)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "query `devices`: column `cpu_pct` holds the text \"busy\" in row 1, but `cpu_pct` \
             needs a number"
        );
        let set = result(&[("name", "TEXT")], vec![vec![Cell::Null]]);
        let error = map_result(&query(QueryTarget::Hosts, &[]), &set, &context(now)).unwrap_err();
        assert!(error.to_string().contains("holds NULL in row 1"), "{error}");
    }

    #[test]
    fn connection_errors_show_the_masked_url() {
        let error = database_error(
            "postgres://ondeck:***@127.0.0.1:1/db",
            Duration::from_secs(2),
            sqlx::Error::PoolTimedOut,
        );
        assert_eq!(
            error.to_string(),
            "postgres://ondeck:***@127.0.0.1:1/db: no connection within 2s (server down, \
             refusing connections or unreachable)"
        );
    }
}
