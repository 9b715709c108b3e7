//! What the server says about itself (version, connections, recovery, lag, superuser) and
//! the alerts and Hosts row made from it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Postgres, Row, Transaction};

use super::query::QUERY_FAILED;
use crate::config::PostgresSource;
use crate::model::{AlertRow, AlertState, HostRow, HostStatus, Severity};
use crate::sources::local::round1;

pub const HIGH_DATABASE_CONNECTIONS: &str = "HighDatabaseConnections";
pub const REPLICATION_LAG: &str = "ReplicationLag";

/// ondeck connects with a superuser role, whose named queries could change anything.
pub const SUPERUSER: &str = "PostgresSuperuser";

/// Share of `max_connections` at which HighDatabaseConnections turns critical.
const CRITICAL_CONNECTION_SHARE: f64 = 0.95;

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

pub(super) async fn read_server(
    tx: &mut Transaction<'static, Postgres>,
) -> Result<ServerStats, sqlx::Error> {
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

/// The threshold rules over the server's statistics. Pure, so they can be checked without a
/// server; `since` is `now` until [`FirstSeen`](crate::sources::alerting::FirstSeen) remembers better.
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Secret;
    use crate::sources::postgres::query::{QueryError, query_failed_alert};

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
}
