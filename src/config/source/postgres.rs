//! `kind = "postgres"`: the server, and the named queries (`[[source.query]]`) that show a
//! team's own tables as hosts, jobs or audit rows.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::diagnostics::{DurationLimits, Problems, Table, backticked, suggestion};
use crate::config::secret::Secret;
use crate::config::values::{DAY, LONGER_THAN_ZERO, ca_file, database_url, limits, read_name};

#[derive(Debug, Clone, PartialEq)]
pub struct PostgresSource {
    /// The connection URL; a password in it must come from `env:` or `file:`.
    pub url: Secret,
    /// Alert when more connections are open (the runbook alerts above 150).
    pub max_connections_warn: Option<u32>,
    /// Alert when more than this share of the server's `max_connections` is open, in percent:
    /// the same rule for servers of different sizes.
    pub connections_warn_pct: Option<f64>,
    /// Alert when a replica lags further behind.
    pub replication_lag_warn: Option<Duration>,
    /// CA certificates trusted besides the system's for `verify-full` (an internal CA).
    pub ca_file: Option<PathBuf>,
    /// `[[source.query]]`: the team's own tables shown as hosts, jobs or audit rows.
    pub queries: Vec<PgQuery>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PgQuery {
    pub name: String,
    pub sql: String,
    pub maps_to: QueryTarget,
    /// Row field → result column, for columns not already named like the field
    /// (`last_seen = "last_heartbeat_at"`). Unmapped result columns go to the row's extra
    /// fields.
    pub columns: BTreeMap<String, String>,
    /// Hosts only: a host whose `last_seen` is older than this is down. Without it, a
    /// `last_seen` older than twice the poll interval marks the host stale.
    pub down_after: Option<Duration>,
    /// Rows past this are not read, and the pane and the Sources view say the query was cut.
    pub max_rows: usize,
}

impl PgQuery {
    /// A named query feeds a pane, not a report: a few thousand rows is what a screen can use.
    pub const DEFAULT_MAX_ROWS: usize = 5_000;
    /// Each row is kept in memory and redrawn: past this, a query wants a `WHERE`.
    pub const MOST_ROWS: usize = 100_000;
}

/// What a named query's rows become; `maps_to` names them in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum QueryTarget {
    Hosts,
    Jobs,
    Audit,
}

impl QueryTarget {
    pub const ALL: &'static [QueryTarget] = <QueryTarget as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The row fields a column may be mapped to.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            QueryTarget::Hosts => &[
                "name",
                "kind",
                "status",
                "version",
                "latency_ms",
                "cpu_pct",
                "mem_pct",
                "disk_pct",
                "last_seen",
            ],
            QueryTarget::Jobs => &[
                "id", "action", "target", "operator", "state", "progress", "started", "finished",
            ],
            QueryTarget::Audit => &[
                "time",
                "operator",
                "action",
                "target",
                "outcome",
                "request_id",
                "detail",
            ],
        }
    }
}

const REPLICATION_LAG_WARN: DurationLimits = limits(
    Duration::from_secs(1),
    DAY.saturating_mul(30),
    "lag is measured in seconds",
);
const DOWN_AFTER: DurationLimits = limits(
    Duration::from_secs(1),
    DAY.saturating_mul(365),
    LONGER_THAN_ZERO,
);

pub(super) fn read_postgres(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<PostgresSource> {
    let url = database_url(table, problems, "url");
    let max_connections_warn = table
        .integer(
            problems,
            "max_connections_warn",
            1..=1_000_000,
            "a number of connections such as 150",
        )
        .map(|n| n as u32);
    let connections_warn_pct = table.number(
        problems,
        "connections_warn_pct",
        0.0..=100.0,
        "a percentage of max_connections such as 80",
    );
    let replication_lag_warn =
        table.duration(problems, "replication_lag_warn", REPLICATION_LAG_WARN);
    let ca_file = ca_file(table, problems);
    let mut queries = Vec::new();
    let mut names = BTreeMap::new();
    let mut all_valid = true;
    for mut query in table.array_of_tables(problems, "query") {
        match read_query(&mut query, problems, &mut names) {
            Some(q) => queries.push(q),
            None => all_valid = false,
        }
        query.finish(problems, "a `[[source.query]]`");
    }
    all_valid.then_some(())?;
    Some(PostgresSource {
        url: url?,
        max_connections_warn,
        connections_warn_pct,
        replication_lag_warn,
        ca_file,
        queries,
    })
}

fn read_query(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    names: &mut BTreeMap<String, usize>,
) -> Option<PgQuery> {
    let name = read_name(table, problems, names, "query", &[]);
    let sql = table.required_string(problems, "sql", "\"SELECT … FROM …\"");
    let targets: Vec<&str> = QueryTarget::ALL.iter().map(|t| t.name()).collect();
    let maps_to = table
        .required_string(problems, "maps_to", "\"hosts\", \"jobs\" or \"audit\"")
        .and_then(|(text, span)| {
            let target = QueryTarget::ALL.iter().copied().find(|t| t.name() == text);
            if target.is_none() {
                problems.report(
                    span,
                    &table.key_path("maps_to"),
                    format!(
                        "`{text}` is not a pane a query can fill.{} Use {}.",
                        suggestion(&text, targets.iter().copied()),
                        backticked(&targets)
                    ),
                );
            }
            target
        });
    let down_after_span = table.value("down_after").map(|v| v.span());
    let down_after = table.duration(problems, "down_after", DOWN_AFTER);
    if let (Some(span), Some(target)) = (down_after_span, maps_to)
        && target != QueryTarget::Hosts
    {
        problems.report(
            span,
            &table.key_path("down_after"),
            format!(
                "`down_after` applies only to a query that maps to hosts, not to {}. Remove it.",
                target.name()
            ),
        );
    }
    let max_rows = table
        .integer(
            problems,
            "max_rows",
            1..=PgQuery::MOST_ROWS as i64,
            "a row count such as 20000",
        )
        .map_or(PgQuery::DEFAULT_MAX_ROWS, |rows| rows as usize);
    let mut columns = BTreeMap::new();
    match maps_to {
        Some(target) => {
            if let Some(mut mapping) = table.table(
                problems,
                "columns",
                "a table such as { name = \"hostname\" }",
            ) {
                for field in target.fields() {
                    if let Some((column, _)) = mapping.string(problems, field, "a column name") {
                        columns.insert((*field).to_owned(), column);
                    }
                }
                mapping.finish(
                    problems,
                    &format!("the columns of a query that maps to {}", target.name()),
                );
            }
        }
        // Which fields exist depends on `maps_to`; don't guess.
        None => {
            table.value("columns");
        }
    }
    Some(PgQuery {
        name: name?,
        sql: sql?.0,
        maps_to: maps_to?,
        columns,
        down_after,
        max_rows,
    })
}
