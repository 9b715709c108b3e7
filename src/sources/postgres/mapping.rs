//! A named query's result mapped onto host, job or audit rows.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::columns::{Columns, Field, Want};
use super::query::{Cell, QueryError, ResultSet};
use crate::config::{PgQuery, QueryTarget};
use crate::model::{AuditRow, HostRow, HostStatus, JobRow, host_fields};

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
            result: None,
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
}
