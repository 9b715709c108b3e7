//! The Sessions pane: client backends from `pg_stat_activity`, ondeck's own left out.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};

use super::connection::{APPLICATION_NAME, REQUEST_ID_TAG};
use crate::model::SessionRow;

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

/// One row of `pg_stat_activity`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Backend {
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

    pub(super) fn into_row(self, source: &str, now: DateTime<Utc>) -> SessionRow {
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

pub(super) async fn read_sessions(
    tx: &mut Transaction<'static, Postgres>,
) -> Result<Vec<Backend>, sqlx::Error> {
    let rows = sqlx::query(SESSIONS_SQL)
        .bind(APPLICATION_NAME)
        .bind(format!("{APPLICATION_NAME}{REQUEST_ID_TAG}%"))
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(Backend::from_row).collect()
}
