//! The pool (built lazily, TLS by the URL), the read-only transactions every statement runs
//! in, and connection failures as one line.

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Executor, Postgres, Transaction};

use crate::config::transport::pg_connect_options;
use crate::config::{Secret, mask_url};
use crate::sources::{SourceError, fetch};

/// Set on every connection of the pool, and how ondeck recognises its own sessions.
pub const APPLICATION_NAME: &str = "ondeck";
/// A poll's transactions: [`APPLICATION_NAME`], then this, then the poll's request id.
pub(super) const REQUEST_ID_TAG: &str = " req=";

/// Whether a session's `application_name` says it is one of ondeck's own connections: a
/// source's pool, a poll's transaction, the store, an action's.
pub fn is_ondeck_application(name: &str) -> bool {
    name == APPLICATION_NAME
        || name
            .strip_prefix(APPLICATION_NAME)
            .is_some_and(|rest| rest.starts_with(REQUEST_ID_TAG))
}

/// One poll needs one connection at a time; the second lets a slow named query not block the
/// next poll's statistics if the first connection is still being cleaned up.
const MAX_POOL_CONNECTIONS: u32 = 2;

#[derive(Debug)]
pub(super) struct Database {
    pub(super) pool: PgPool,
    /// The URL with any password masked, for messages.
    pub(super) shown: String,
}

/// A pool that connects on first use, so building it never waits for the server. TLS is
/// `verify-full` off this machine unless the URL says otherwise
/// ([`crate::config::PgTransport`]).
pub(super) fn connect_lazily(
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

/// A read-only transaction whose statements are cancelled by the server after `budget`, and
/// that names the poll's `request_id` in its `application_name`.
pub(super) async fn read_only(
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
pub(super) fn database_error(shown: &str, budget: Duration, error: sqlx::Error) -> SourceError {
    let reason = match &error {
        // The pool retries a refused connection until its timeout, so the refusal itself is
        // lost; say what it usually means.
        sqlx::Error::PoolTimedOut => format!(
            "no connection within {} (server down, refusing connections or unreachable)",
            humantime::format_duration(budget)
        ),
        // sqlx reports a refused certificate as an I/O error.
        sqlx::Error::Io(io) if fetch::as_or_wrapping_rustls(io).is_some() => {
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

pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ondeck_knows_its_own_sessions_by_their_application_name() {
        assert!(is_ondeck_application("ondeck"));
        assert!(is_ondeck_application("ondeck req=0f6c"));
        assert!(!is_ondeck_application("ondeck-fork"));
        assert!(!is_ondeck_application("certhub-api"));
        assert!(!is_ondeck_application(""));
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
