//! Operator sessions: every ondeck console open on this store. With a shared PostgreSQL store
//! the Sessions pane shows the other operators too, which is how a two-person approval finds
//! its second person.
//!
//! A console touches its session periodically; one that crashed or lost its SSH connection
//! without closing simply stops being touched and drops out of the list after `SESSION_TTL`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Store, StoreError, now_ms, on_pool};
use crate::identity::OperatorIdentity;
use crate::model::SessionRow;

/// A session not touched for this long is gone. Consoles should touch well within it.
pub const SESSION_TTL: chrono::Duration = chrono::Duration::minutes(2);

#[derive(Debug, sqlx::FromRow)]
struct SessionRecord {
    id: String,
    /// The OS account's name (before the 0002 migration: the configured name).
    operator: String,
    /// The terminal the console runs on.
    client: String,
    host: String,
    pid: i64,
    started_at: i64,
    last_seen_at: i64,
    uid: Option<i64>,
    ssh_client: Option<String>,
    db_user: Option<String>,
    operator_label: Option<String>,
    /// `None` for a session opened before the 0005 migration.
    read_only: Option<bool>,
}

impl Store {
    /// Records this console as open, under `identity`, and returns the session id. `terminal`
    /// says where the operator sits locally (`pts/3`), `read_only` whether the console can act;
    /// the process id is added here, and on PostgreSQL the connection's database role.
    pub async fn open_operator_session(
        &self,
        identity: &OperatorIdentity,
        terminal: &str,
        read_only: bool,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        let sql = format!(
            "INSERT INTO operator_sessions \
             (id, operator, client, host, pid, started_at, last_seen_at, uid, ssh_client, \
             operator_label, read_only, db_user) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, {})",
            self.dialect().session_user
        );
        on_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(&id)
                .bind(&identity.os_user)
                .bind(terminal)
                .bind(&identity.host)
                .bind(i64::from(std::process::id()))
                .bind(now)
                .bind(i64::from(identity.uid))
                .bind(&identity.ssh_client)
                .bind(&identity.label)
                .bind(read_only)
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
                "SELECT id, operator, client, host, pid, started_at, last_seen_at, uid, \
                 ssh_client, db_user, operator_label, read_only FROM operator_sessions \
                 WHERE ended_at IS NULL AND last_seen_at >= $1 \
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
                let since = self.time(r.started_at, what)?;
                let last_seen = self.time(r.last_seen_at, what)?;
                Ok(session_row(r, since, last_seen, now))
            })
            .collect()
    }
}

/// The Sessions pane row of a console: who (`alice@ops-01`), from where (the SSH client, else
/// the terminal), and in DETAIL what else is known (the label when it differs from the account,
/// the database role, the terminal when the SSH client took CLIENT).
fn session_row(
    r: SessionRecord,
    since: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SessionRow {
    let mut fields = BTreeMap::from([
        ("session_id".to_string(), json!(r.id)),
        ("host".to_string(), json!(r.host)),
        ("pid".to_string(), json!(r.pid)),
        ("last_seen".to_string(), json!(last_seen.to_rfc3339())),
    ]);
    let other_label = r
        .operator_label
        .as_ref()
        .filter(|label| **label != r.operator);
    let terminal = Some(r.client).filter(|t| !t.is_empty());
    let detail = SessionRow::detail_of([
        other_label.map(|label| format!("as {label}")),
        r.db_user.as_ref().map(|role| format!("db role {role}")),
        r.ssh_client
            .as_ref()
            .and(terminal.as_ref())
            .map(|terminal| format!("on {terminal}")),
    ]);
    let client = r
        .ssh_client
        .clone()
        .or_else(|| terminal.clone())
        .unwrap_or_else(|| "local".to_string());
    fields.extend([
        ("os_user".to_string(), json!(r.uid.map(|_| &r.operator))),
        ("uid".to_string(), json!(r.uid)),
        ("ssh_client".to_string(), json!(r.ssh_client)),
        ("terminal".to_string(), json!(terminal)),
        ("db_user".to_string(), json!(r.db_user)),
        ("label".to_string(), json!(r.operator_label)),
        ("read_only".to_string(), json!(r.read_only)),
    ]);
    // A session opened before the 0002 migration has only its name and host.
    fields.retain(|_, value| !value.is_null());
    SessionRow {
        source: super::OPERATOR_SESSIONS_SOURCE.to_string(),
        user: format!("{}@{}", r.operator, r.host),
        client,
        // A wall or a read-only console cannot act: worth telling before asking it for an
        // approval. One word that fits the STATE column.
        state: match r.read_only {
            Some(true) => "watching",
            _ => "active",
        }
        .to_string(),
        since: Some(since),
        detail,
        observed_at: now,
        fields,
    }
}
