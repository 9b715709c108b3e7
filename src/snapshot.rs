//! `ondeck snapshot`: every source polled once, printed as text or JSON, with an exit code a
//! cron job or a monitoring check can act on.
//!
//! Exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | nothing firing |
//! | 1 | a warning: a firing warning alert, a degraded host, or a source that failed to answer or was not asked (its data is unknown, which is itself worth a look) |
//! | 2 | something critical: a firing critical alert or a host that is down |
//!
//! Silenced alerts, pending or resolved alerts and `info` alerts never raise the code.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{
    AlertRow, AlertState, AuditRow, HostRow, HostStatus, JobRow, SessionRow, Severity, SourceRow,
    SourceStatus, StoreRows, Truncated, format_age, shown_alerts,
};
use crate::printable::{printable, to_json_pretty};
use crate::sources::PollReport;

/// How many audit records the text report shows; the JSON carries all it was given.
const AUDIT_TAIL: usize = 20;

/// Everything one `ondeck snapshot` saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub taken_at: DateTime<Utc>,
    pub hosts: Vec<HostRow>,
    pub sessions: Vec<SessionRow>,
    pub jobs: Vec<JobRow>,
    /// Most severe first.
    pub alerts: Vec<AlertRow>,
    /// Oldest first.
    pub audit: Vec<AuditRow>,
    pub sources: Vec<SourceRow>,
}

impl Snapshot {
    /// The sources that have not answered or failed yet, whose alerts are therefore unknown.
    pub fn waiting_for(&self) -> Vec<&str> {
        self.sources
            .iter()
            .filter(|source| source.status == SourceStatus::Pending)
            .map(|source| source.name.as_str())
            .collect()
    }
}

/// Gathers the polls of every source and what the store holds into one snapshot.
pub fn build(reports: Vec<PollReport>, store: StoreRows, now: DateTime<Utc>) -> Snapshot {
    let mut snapshot = Snapshot {
        taken_at: now,
        hosts: Vec::new(),
        sessions: Vec::new(),
        jobs: Vec::new(),
        alerts: Vec::new(),
        audit: Vec::new(),
        sources: Vec::with_capacity(reports.len()),
    };
    for report in reports {
        let mut row = SourceRow::pending(&report.source, report.kind, report.every);
        row.apply_poll(report.at, report.latency_ms, &report.result);
        snapshot.sources.push(row);
        if let Some(observation) = report.result.ok().or(report.unanswered) {
            snapshot.hosts.extend(observation.hosts);
            snapshot.sessions.extend(observation.sessions);
            snapshot.jobs.extend(observation.jobs);
            snapshot.alerts.extend(observation.alerts);
            snapshot.audit.extend(observation.audit);
        }
    }
    snapshot.sessions.extend(store.sessions);
    snapshot.jobs.extend(store.jobs);
    snapshot.audit.extend(store.audit);
    snapshot.alerts.extend(store.alerts);
    let mut shown = shown_alerts(&snapshot.alerts, &snapshot.sources).into_iter();
    snapshot.alerts.retain(|_| shown.next().unwrap_or(true));
    snapshot
        .alerts
        .sort_by(|a, b| (a.severity, &a.name, &a.target).cmp(&(b.severity, &b.name, &b.target)));
    snapshot
        .audit
        .sort_by_key(|record| (record.time, record.seq));
    snapshot
}

/// 0 = nothing firing, 1 = warnings, 2 = critical; see the module documentation for what counts.
pub fn exit_code(snapshot: &Snapshot) -> i32 {
    let alerts = snapshot
        .alerts
        .iter()
        .filter(|alert| alert.state == AlertState::Firing && !alert.silenced)
        .map(|alert| alert.severity);
    let hosts = snapshot.hosts.iter().filter_map(|host| match host.status {
        HostStatus::Down => Some(Severity::Critical),
        // A host whose state cannot be told (a backup directory that cannot be read, a row
        // whose source stopped answering) is not all clear either.
        HostStatus::Degraded | HostStatus::Stale | HostStatus::Unknown => Some(Severity::Warning),
        HostStatus::Up => None,
    });
    // What a source did not say is unknown, and unknown is never all clear.
    let sources = snapshot
        .sources
        .iter()
        .filter(|source| source.status != SourceStatus::Ok)
        .map(|_| Severity::Warning);
    match alerts.chain(hosts).chain(sources).min() {
        Some(Severity::Critical) => 2,
        Some(Severity::Warning) => 1,
        Some(Severity::Info) | None => 0,
    }
}

/// The JSON documented under "snapshot --json": the row types as they serialize, plus
/// `age_s` on hosts and `source` on source rows so that every row names its source.
///
/// A host's kind-specific fields (an OpenBao node's `initialized`, `sealed`, `t`, `n`,
/// `progress`) are also set on the host object itself, where the contract puts them, except one
/// whose name a standard column already has; `fields` keeps them all, so nothing a source
/// reported is lost to such a clash.
pub fn to_json(snapshot: &Snapshot) -> String {
    #[derive(Serialize)]
    struct SourceJson<'a> {
        source: &'a str,
        #[serde(flatten)]
        row: &'a SourceRow,
    }
    #[derive(Serialize)]
    struct SnapshotJson<'a> {
        taken_at: DateTime<Utc>,
        hosts: Vec<serde_json::Value>,
        sessions: &'a [SessionRow],
        jobs: &'a [JobRow],
        alerts: &'a [AlertRow],
        audit: &'a [AuditRow],
        sources: Vec<SourceJson<'a>>,
    }
    let json = SnapshotJson {
        taken_at: snapshot.taken_at,
        hosts: snapshot
            .hosts
            .iter()
            .map(|row| host_json(row, age_s(snapshot.taken_at, row.observed_at)))
            .collect(),
        sessions: &snapshot.sessions,
        jobs: &snapshot.jobs,
        alerts: &snapshot.alerts,
        audit: &snapshot.audit,
        sources: snapshot
            .sources
            .iter()
            .map(|row| SourceJson {
                source: &row.name,
                row,
            })
            .collect(),
    };
    // The rows are plain data with string keys; serializing them cannot fail.
    to_json_pretty(&json).unwrap_or_else(|error| {
        format!(
            "{{\"error\":{}}}",
            serde_json::Value::String(error.to_string())
        )
    })
}

fn host_json(row: &HostRow, age_s: i64) -> serde_json::Value {
    let mut json = serde_json::to_value(row).unwrap_or_default();
    if let Some(object) = json.as_object_mut() {
        object.insert("age_s".to_owned(), age_s.into());
        for (key, value) in &row.fields {
            object.entry(key.as_str()).or_insert_with(|| value.clone());
        }
    }
    json
}

fn age_s(now: DateTime<Utc>, observed_at: DateTime<Utc>) -> i64 {
    (now - observed_at).num_seconds().max(0)
}

/// A plain-text report for a terminal or a mail: one section per pane, aligned columns.
pub fn format_text(snapshot: &Snapshot) -> String {
    let now = snapshot.taken_at;
    let mut out = format!("ondeck snapshot {}\n", clock(now));

    section(
        &mut out,
        "HOSTS",
        &[
            "NAME", "KIND", "STATUS", "LATENCY", "CPU", "MEM", "DISK", "LOAD", "VERSION", "AGE",
            "SOURCE",
        ],
        snapshot.hosts.iter().map(|host| {
            vec![
                host.name.clone(),
                host.kind.clone(),
                host.status.as_str().to_owned(),
                optional(host.latency_ms.map(|ms| format!("{ms}ms"))),
                optional(host.cpu_pct.map(pct)),
                optional(host.mem_pct.map(pct)),
                optional(host.disk_pct.map(pct)),
                optional(host.load1.map(|load| format!("{load:.2}"))),
                optional(host.version.clone()),
                format_age(age_s(now, host.observed_at)),
                host.source.clone(),
            ]
        }),
    );
    section(
        &mut out,
        "SESSIONS",
        &["SOURCE", "USER", "CLIENT", "STATE", "SINCE"],
        snapshot.sessions.iter().map(|session| {
            vec![
                session.source.clone(),
                session.user.clone(),
                session.client.clone(),
                session.state.clone(),
                optional(session.since.map(clock)),
            ]
        }),
    );
    section(
        &mut out,
        "JOBS",
        &[
            "ID", "ACTION", "TARGET", "OPERATOR", "STATE", "PROGRESS", "STARTED", "DURATION",
        ],
        snapshot.jobs.iter().map(|job| {
            vec![
                job.id.clone(),
                job.action.clone(),
                job.target.clone(),
                job.operator.clone(),
                job.state.clone(),
                optional(job.progress.map(|done| pct(done * 100.0))),
                optional(job.started.map(clock)),
                optional(job.duration_s(now).map(format_age)),
            ]
        }),
    );
    let waiting = snapshot.waiting_for();
    let alerts_title = if waiting.is_empty() {
        "ALERTS".to_owned()
    } else {
        format!("ALERTS (waiting for sources: {})", waiting.join(", "))
    };
    section(
        &mut out,
        &alerts_title,
        &[
            "SEVERITY", "NAME", "TARGET", "STATE", "SINCE", "SILENCED", "SOURCE", "SUMMARY",
        ],
        snapshot.alerts.iter().map(|alert| {
            vec![
                alert.severity.as_str().to_owned(),
                alert.name.clone(),
                alert.target.clone(),
                alert.state.as_str().to_owned(),
                optional(alert.since.map(clock)),
                if alert.silenced { "yes" } else { "no" }.to_owned(),
                alert.source.clone(),
                alert.summary.clone(),
            ]
        }),
    );
    let tail_start = snapshot.audit.len().saturating_sub(AUDIT_TAIL);
    section(
        &mut out,
        "AUDIT (tail)",
        &[
            "TIME",
            "OPERATOR",
            "ACTION",
            "TARGET",
            "OUTCOME",
            "REQUEST ID",
        ],
        snapshot.audit[tail_start..].iter().map(|record| {
            vec![
                clock(record.time),
                record.operator.clone(),
                record.action.clone(),
                record.target.clone(),
                record.outcome.clone(),
                record.request_id.clone(),
            ]
        }),
    );
    section(
        &mut out,
        "SOURCES",
        &[
            "NAME",
            "KIND",
            "STATUS",
            "LATENCY",
            "LAST SUCCESS",
            "LAST ERROR",
            "CUT SHORT",
        ],
        snapshot.sources.iter().map(|source| {
            let cut: Vec<String> = source.truncated.iter().map(Truncated::describe).collect();
            vec![
                source.name.clone(),
                source.kind.clone(),
                source.status.as_str().to_owned(),
                optional(source.latency_ms.map(|ms| format!("{ms}ms"))),
                optional(source.last_success.map(clock)),
                optional(source.last_error.clone()),
                optional((!cut.is_empty()).then(|| cut.join("; "))),
            ]
        }),
    );
    out
}

fn clock(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn pct(value: f64) -> String {
    format!("{value:.0}%")
}

fn optional(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}

/// Appends a titled table whose columns are as wide as their widest cell. Hand-written: padding
/// with `format!` is all it takes, which does not justify a table crate.
fn section(
    out: &mut String,
    title: &str,
    headers: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) {
    // Line breaks inside a cell (an error message, a summary) would break the columns, and other
    // control characters from another system's data must not act on the reader's terminal.
    let rows: Vec<Vec<String>> = rows
        .map(|row| {
            row.into_iter()
                .map(|cell| printable(&cell.replace(['\n', '\r', '\t'], " ")).into_owned())
                .collect()
        })
        .collect();
    out.push('\n');
    out.push_str(title);
    out.push('\n');
    if rows.is_empty() {
        out.push_str("  (none)\n");
        return;
    }
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header_cells = headers.iter().map(|header| (*header).to_owned()).collect();
    for row in std::iter::once(header_cells).chain(rows) {
        let mut line = String::from(" ");
        for (cell, width) in row.iter().zip(&widths) {
            line.push(' ');
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', width - cell.chars().count() + 1));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}
