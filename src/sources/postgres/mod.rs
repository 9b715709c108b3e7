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

mod columns;
mod connection;
mod mapping;
mod query;
mod server;
mod sessions;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::alerting::FirstSeen;
use super::{Poller, SourceError};
use crate::config::PostgresSource;
use crate::model::{HostRow, HostStatus, Observation, Truncated, host_fields};
use connection::{Database, connect_lazily, database_error, read_only};
use query::{query_failed_alert, run_query_by};
use server::read_server;
use sessions::read_sessions;

pub use connection::{APPLICATION_NAME, is_ondeck_application};
pub use mapping::{MapContext, Mapped, map_result, parse_status};
pub use query::{Cell, QUERY_FAILED, QueryError, ResultSet};
pub use server::{
    HIGH_DATABASE_CONNECTIONS, REPLICATION_LAG, SUPERUSER, ServerStats, server_alerts, server_host,
};

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
