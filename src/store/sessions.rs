//! Operator sessions: every ondeck console open on this store. With a shared PostgreSQL store
//! the Sessions pane shows the other operators too, which is how a two-person approval finds
//! its second person.
//!
//! A console touches its session periodically; one that crashed or lost its SSH connection
//! without closing simply stops being touched and drops out of the list after `SESSION_TTL`.

use std::collections::BTreeMap;

use chrono::Utc;

use super::{Store, StoreError, now_ms, on_pool};
use crate::model::SessionRow;

/// A session not touched for this long is gone. Consoles should touch well within it.
pub const SESSION_TTL: chrono::Duration = chrono::Duration::minutes(2);

#[derive(Debug, sqlx::FromRow)]
struct SessionRecord {
    id: String,
    operator: String,
    client: String,
    host: String,
    pid: i64,
    started_at: i64,
    last_seen_at: i64,
}

impl Store {
    /// Records this console as open and returns the session id. `client` says where the
    /// operator sits (e.g. the SSH client address or the tty); the host name and process id
    /// are added here.
    pub async fn open_operator_session(
        &self,
        operator: &str,
        client: &str,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let host = sysinfo::System::host_name().unwrap_or_else(|| "unknown-host".to_string());
        let now = now_ms();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO operator_sessions \
                 (id, operator, client, host, pid, started_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&id)
            .bind(operator)
            .bind(client)
            .bind(&host)
            .bind(i64::from(std::process::id()))
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| self.error(e))?;
        Ok(id)
    }

    /// Marks the session as still alive.
    pub async fn touch_operator_session(&self, id: &str) -> Result<(), StoreError> {
        self.update_session(
            id,
            "UPDATE operator_sessions SET last_seen_at = $2 WHERE id = $1 AND ended_at IS NULL",
        )
        .await
    }

    /// Marks the session as ended; it leaves the Sessions pane at once.
    pub async fn close_operator_session(&self, id: &str) -> Result<(), StoreError> {
        self.update_session(
            id,
            "UPDATE operator_sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL",
        )
        .await
    }

    async fn update_session(&self, id: &str, sql: &'static str) -> Result<(), StoreError> {
        let updated = on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(id)
                .bind(now_ms())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(|e| self.error(e))?;
        if updated == 0 {
            return Err(StoreError::NotFound {
                kind: "open operator session",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// The open sessions seen within `SESSION_TTL`, oldest first, as Sessions pane rows.
    pub async fn operator_sessions(&self) -> Result<Vec<SessionRow>, StoreError> {
        let now = Utc::now();
        let cutoff = (now - SESSION_TTL).timestamp_millis();
        let records: Vec<SessionRecord> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, operator, client, host, pid, started_at, last_seen_at \
                 FROM operator_sessions WHERE ended_at IS NULL AND last_seen_at >= $1 \
                 ORDER BY started_at, operator, id",
            )
            .bind(cutoff)
            .fetch_all(pool)
            .await
        })
        .map_err(|e| self.error(e))?;
        records
            .into_iter()
            .map(|r| {
                let what = || format!("operator session {}", r.id);
                let last_seen = self.time(r.last_seen_at, what)?;
                let fields = BTreeMap::from([
                    ("session_id".to_string(), r.id.clone().into()),
                    ("host".to_string(), r.host.clone().into()),
                    ("pid".to_string(), r.pid.into()),
                    ("last_seen".to_string(), last_seen.to_rfc3339().into()),
                ]);
                Ok(SessionRow {
                    source: super::OPERATOR_SESSIONS_SOURCE.to_string(),
                    user: r.operator,
                    client: if r.client.is_empty() {
                        r.host
                    } else {
                        format!("{}@{}", r.client, r.host)
                    },
                    state: "active".to_string(),
                    since: Some(self.time(r.started_at, what)?),
                    detail: String::new(),
                    observed_at: now,
                    fields,
                })
            })
            .collect()
    }
}
